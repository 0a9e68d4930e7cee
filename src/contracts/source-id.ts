/**
 * Bounded text from untrusted message fields. A source id (the Kafka key) becomes a map key,
 * an output key and a metric label, and a frame id goes into every output: a producer that
 * sends 1 MB keys must not turn into 1 MB of memory per source or per metric series. Short
 * values pass unchanged; longer ones keep a readable prefix and a digest of the whole, so
 * two long ids that share the prefix stay distinct.
 */
import { createHash } from 'node:crypto';

/** Longest source id or frame id kept as is (bytes of UTF-8). */
export const MAX_ID_BYTES = 256;

export function boundedId(text: string, max = MAX_ID_BYTES): string {
  if (Buffer.byteLength(text, 'utf8') <= max) return text;
  const digest = createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 16);
  // Cut by characters, then by bytes, so no multi-byte character is split.
  let prefix = text.slice(0, max - 24);
  while (Buffer.byteLength(prefix, 'utf8') > max - 24) prefix = prefix.slice(0, -1);
  return `${prefix}…#${digest}`;
}

/** Capture times accepted from a `ts` header: after 2000-01-01 and at most a day ahead of now. */
export function plausibleTs(ts: number, now = Date.now()): boolean {
  return Number.isFinite(ts) && ts >= 946_684_800_000 && ts <= now + 86_400_000;
}
