/**
 * The process logger (pino on stderr, so stdout stays for results). Secrets that config may
 * carry are redacted wherever they appear in a log object.
 *
 * log.format: `json` writes pino's JSON lines (for log collectors); `pretty` one short line
 * per entry for a person (time, level, message, a few short fields); `auto` (default) is
 * pretty when stderr is a terminal, else JSON.
 */
import pino, { type DestinationStream, type Logger } from 'pino';

export const REDACT_PATHS = [
  '*.password',
  '*.sasl.password',
  '*.ssl.key',
  '*.ssl.passphrase',
  'config.kafka.sasl',
  'config.kafka.ssl',
];

export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;

/** The config's `log` section; a bare level means format `auto`. */
export interface LogSettings {
  readonly level: string;
  readonly format?: string;
}

export function createLogger(settings: string | LogSettings, destination: NodeJS.WritableStream = process.stderr): Logger {
  const { level, format = 'auto' } = typeof settings === 'string' ? { level: settings } : settings;
  const sink = pino.destination({ dest: (destination as { fd?: number }).fd ?? 2, sync: true });
  const pretty = format === 'pretty' || (format === 'auto' && (destination as { isTTY?: boolean }).isTTY === true);
  return pino({ name: 'gaia-sentinel', level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, pretty ? prettyStream(sink) : sink);
}

/** A pino destination that rewrites each JSON line as prettyLine does. */
export function prettyStream(sink: { write(line: string): unknown }): DestinationStream {
  return { write: (line: string) => void sink.write(prettyLine(line)) };
}

const OWN = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);
/** A routine (info and below) line takes short fields while it stays this short. */
const WIDTH = 120;
const SHORT = 40;

/**
 * One JSON log line as `HH:MM:SS LEVEL message key=value …`. Warnings and errors show all
 * their fields (values cut at 200 characters). Other entries show the short scalar ones
 * that fit in WIDTH, leaving out lists, objects and what the message says already ("using
 * cpu"): JSON has every field.
 */
export function prettyLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const level = Number(entry.level);
  const msg = oneLine(String(entry.msg ?? ''));
  let line = `${new Date(Number(entry.time)).toTimeString().slice(0, 8)} ${(pino.levels.labels[level] ?? String(level)).toUpperCase().padEnd(5)} ${msg}`;
  for (const [key, value] of Object.entries(entry)) {
    if (OWN.has(key) || value === null || value === undefined) continue;
    // An error object (pino's err serializer): its message.
    const message = (value as { message?: unknown }).message;
    const shown = typeof message === 'string' ? message : show(value);
    if (msg.includes(`${key} ${shown}`)) continue;
    if (level >= pino.levels.values.warn!) line += ` ${key}=${cut(shown, 200)}`;
    else if (typeof value !== 'object' && shown.length <= SHORT && line.length + key.length + shown.length + 2 <= WIDTH) line += ` ${key}=${shown}`;
  }
  return `${line}\n`;
}

function show(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value;
  if (typeof value === 'number' && !Number.isInteger(value)) return String(Math.abs(value) >= 1000 ? Math.round(value) : Number(value.toPrecision(4)));
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

const cut = (s: string, n: number) => oneLine(s.length > n ? `${s.slice(0, n - 1)}…` : s);
const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ');
