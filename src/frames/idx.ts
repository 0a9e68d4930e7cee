/**
 * The IDX format (MNIST, Fashion-MNIST, and the data sets scripts/data builds): a
 * big-endian header (magic 0x0000 08 <rank>, then one uint32 per dimension) and the
 * unsigned-byte elements in C order. Gzipped files are read too.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { ErrorCodes, GaiaError } from '../errors.js';

export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  const buf = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (why: string): never => {
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `${source} is not an IDX unsigned-byte file: ${why}`);
  };
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) bad('bad magic number');
  if (buf[2] !== 0x08) bad(`element type 0x${buf[2]!.toString(16)} (only 0x08, unsigned byte, is supported)`);
  const rank = buf[3]!;
  if (buf.length < 4 + 4 * rank) bad('truncated header');
  const dims = Array.from({ length: rank }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  const offset = 4 + 4 * rank;
  if (buf.length !== offset + count) bad(`header says ${count} elements, file holds ${buf.length - offset}`);
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + offset, count) };
}

export async function readIdx(path: string): Promise<IdxArray> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new GaiaError(ErrorCodes.IO, `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  return parseIdx(bytes, path);
}
