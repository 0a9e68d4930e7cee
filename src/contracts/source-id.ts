/**
 * Bounded text from untrusted message fields. A source id (the Kafka key) becomes a map key,
 * an output key and a metric label, and a frame id goes into every output: a producer that
 * sends 1 MB keys must not turn into 1 MB of memory per source or per metric series. Short
 * values pass unchanged; longer ones keep a readable prefix and a digest of the whole, so
 * two long ids that share the prefix stay distinct.
 */
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';

/** Longest source id or frame id kept as is (bytes of UTF-8). */
export const MAX_ID_BYTES = 256;

export function boundedId(text: string, max = MAX_ID_BYTES): string {
  if (Buffer.byteLength(text, 'utf8') <= max) return text;
  const digest = createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 16);
  return `${utf8Prefix(text, max - 24)}…#${digest}`;
}

/** The longest start of `text` that fits in `max` bytes of UTF-8: cut by characters, then by bytes, so no multi-byte character is split. */
function utf8Prefix(text: string, max: number): string {
  let prefix = text.slice(0, max);
  while (Buffer.byteLength(prefix, 'utf8') > max) prefix = prefix.slice(0, -1);
  return prefix;
}

/** Hex digits of the SHA-256 that tell apart keys that are not UTF-8 (64 bits). */
const KEY_DIGEST_HEX = 16;

/**
 * The source id of a Kafka key. A UTF-8 key is its text (bounded). Any other key decodes
 * lossily (each invalid byte becomes U+FFFD, so `ff fe 41` and `fe ff 41` read alike): its
 * id is that readable text, then `#` and a digest of the raw bytes, which tells them apart.
 */
export function sourceIdOfKey(key: Uint8Array): string {
  const bytes = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  if (isUtf8(bytes)) return boundedId(bytes.toString('utf8'));
  const digest = createHash('sha256').update(bytes).digest('hex').slice(0, KEY_DIGEST_HEX);
  return `${utf8Prefix(bytes.toString('utf8'), MAX_ID_BYTES - KEY_DIGEST_HEX - 1)}#${digest}`;
}

/** Capture times accepted from a `ts` header: after 2000-01-01 and at most a day ahead of now. */
export function plausibleTs(ts: number, now = Date.now()): boolean {
  return Number.isFinite(ts) && ts >= 946_684_800_000 && ts <= now + 86_400_000;
}
