/**
 * The process logger (pino, JSON lines on stderr so stdout stays for results). Secrets
 * that config may carry are redacted wherever they appear in a log object.
 */
import pino, { type Logger } from 'pino';

export const REDACT_PATHS = [
  '*.password',
  '*.sasl.password',
  '*.ssl.key',
  '*.ssl.passphrase',
  'config.kafka.sasl',
  'config.kafka.ssl',
];

export function createLogger(level: string, destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino(
    { name: 'gaia-sentinel', level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    pino.destination({ dest: (destination as { fd?: number }).fd ?? 2, sync: true }),
  );
}
