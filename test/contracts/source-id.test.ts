/** Kafka keys → source ids: UTF-8 keys unchanged, other bytes distinct, every id bounded. */
import { describe, expect, it } from 'vitest';
import { MAX_ID_BYTES, boundedId, sourceIdOfKey } from '../../src/contracts/source-id.js';
import { sourceIdOf, UNKEYED } from '../../src/stream/kafka/message-fetcher.js';

const bytes = (...b: number[]) => Uint8Array.from(b);

describe('sourceIdOfKey', () => {
  it('gives two keys that are not UTF-8 and read alike (ff fe 41, fe ff 41) distinct ids', () => {
    const a = sourceIdOfKey(bytes(0xff, 0xfe, 0x41));
    const b = sourceIdOfKey(bytes(0xfe, 0xff, 0x41));
    expect(a).not.toBe(b);
    // Readable: the lossy text (each invalid byte as U+FFFD), then # and 16 hex digits of the bytes' SHA-256.
    expect(a).toMatch(/^\uFFFD\uFFFDA#[0-9a-f]{16}$/);
    expect(b).toMatch(/^\uFFFD\uFFFDA#[0-9a-f]{16}$/);
    // The same bytes always give the same id (a redelivery, another agent).
    expect(sourceIdOfKey(bytes(0xff, 0xfe, 0x41))).toBe(a);
  });

  it('keeps a readable prefix of a key in another encoding (Latin-1)', () => {
    const id = sourceIdOfKey(Buffer.from('caméra-7', 'latin1'));
    expect(id).toMatch(/^cam\uFFFDra-7#[0-9a-f]{16}$/);
    expect(id).not.toBe(sourceIdOfKey(Buffer.from('camèra-7', 'latin1')));
  });

  it.each([
    ['ASCII', 'camera-1'],
    ['multi-byte UTF-8', 'caméra-7 📷'],
    ['control characters and NUL', 'cam\u0000\u0001'],
    ['a byte-order mark', '\uFEFFcam'],
    ['a U+FFFD that was sent as such', 'cam\uFFFD'],
  ])('keeps a UTF-8 key (%s) as its text', (_, text) => {
    expect(sourceIdOfKey(Buffer.from(text, 'utf8'))).toBe(text);
  });

  it('bounds long keys as before: UTF-8 ones by boundedId, others within MAX_ID_BYTES', () => {
    const long = 'c'.repeat(1000);
    expect(sourceIdOfKey(Buffer.from(long))).toBe(boundedId(long));
    const binary = sourceIdOfKey(Uint8Array.from({ length: 5000 }, (_, i) => (i % 2 ? 0xff : 0x61)));
    expect(Buffer.byteLength(binary)).toBeLessThanOrEqual(MAX_ID_BYTES);
    expect(binary).toMatch(/#[0-9a-f]{16}$/);
    const other = sourceIdOfKey(Uint8Array.from({ length: 5000 }, (_, i) => (i % 2 ? 0xfe : 0x61)));
    expect(other).not.toBe(binary);
  });

  it('reads a key that is a view into a larger buffer by its own bytes only', () => {
    const backing = Buffer.from([0x61, 0xff, 0xfe, 0x41, 0x62]);
    expect(sourceIdOfKey(backing.subarray(1, 4))).toBe(sourceIdOfKey(bytes(0xff, 0xfe, 0x41)));
    expect(sourceIdOfKey(Buffer.from('xcamy').subarray(1, 4))).toBe('cam');
  });
});

describe('the Kafka source: record key → source id', () => {
  it('keeps binary keys apart, UTF-8 keys as they are, and calls a null or empty key unkeyed', () => {
    expect(sourceIdOf(Buffer.from([0xff, 0xfe, 0x41]))).not.toBe(sourceIdOf(Buffer.from([0xfe, 0xff, 0x41])));
    expect(sourceIdOf(Buffer.from('camera-1'))).toBe('camera-1');
    expect(sourceIdOf(null)).toBe(UNKEYED);
    expect(sourceIdOf(Buffer.alloc(0))).toBe(UNKEYED);
  });
});
