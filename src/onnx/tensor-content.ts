/**
 * A tensor's elements as raw little-endian bytes (the raw_data encoding), whether the
 * model stores them in raw_data, in a typed field (float_data, int32_data…) or in an
 * external file. The fingerprint hashes this, so it covers the weights wherever they are
 * stored; the external-data writer writes it, so typed fields become raw data there.
 */
import { externalSource, forEachChunk } from './external-data.js';
import type { TensorProtoLike } from './tensor-proto.js';

type Long = number | string | { toString(): string };

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const big = (v: Long[] | undefined): bigint[] => (v ?? []).map((x) => BigInt(x.toString()));

/** The typed-field values of a non-raw tensor as raw bytes (platform order: little-endian on supported hosts). */
function typedBytes(p: TensorProtoLike): Uint8Array {
  const ints = (p.int32Data ?? []) as number[];
  switch (p.dataType ?? 0) {
    case 1: case 14: return bytesOf(Float32Array.from(p.floatData ?? []));
    case 11: case 15: return bytesOf(Float64Array.from(p.doubleData ?? []));
    case 7: return bytesOf(BigInt64Array.from(big(p.int64Data as Long[] | undefined)));
    case 12: return bytesOf(Uint32Array.from(big(p.uint64Data as Long[] | undefined), Number));
    case 13: return bytesOf(BigUint64Array.from(big(p.uint64Data as Long[] | undefined)));
    case 6: return bytesOf(Int32Array.from(ints));
    case 4: case 5: case 10: case 16: return bytesOf(Uint16Array.from(ints, (v) => v & 0xffff));
    // 8-bit and packed sub-byte types: one byte per int32_data entry.
    default: return Uint8Array.from(ints, (v) => v & 0xff);
  }
}

/** Bytes of the tensor's data: external length, raw_data length, or typed entries × size. */
export function contentByteLength(p: TensorProtoLike): number {
  const src = externalSource(p);
  if (src) return src.length;
  if (p.rawData && p.rawData.byteLength > 0) return p.rawData.byteLength;
  if (p.dataType === 8) return ((p.stringData as Uint8Array[] | undefined) ?? []).reduce((n, s) => n + s.byteLength, 0);
  return typedBytes(p).byteLength;
}

/**
 * Calls `fn` with the tensor's raw bytes, in pieces for external data (never the whole
 * file at once). String tensors give each string's length (8 bytes) and then its bytes.
 */
export function forEachContentChunk(p: TensorProtoLike, fn: (chunk: Uint8Array) => void): void {
  const src = externalSource(p);
  if (src) return forEachChunk(src, fn);
  if (p.rawData && p.rawData.byteLength > 0) return fn(p.rawData);
  if (p.dataType === 8) {
    for (const s of (p.stringData as Uint8Array[] | undefined) ?? []) {
      fn(bytesOf(BigUint64Array.of(BigInt(s.byteLength))));
      fn(s);
    }
    return;
  }
  fn(typedBytes(p));
}
