/**
 * Tensors whose data lives in a file beside the model (data_location = EXTERNAL), as
 * torch.onnx.export writes by default (`model.onnx` + `model.onnx.data`). A model file is
 * untrusted input: its `location` must name a regular file inside the model's folder
 * (no absolute path, no `..`, no link that resolves outside), and offset/length must
 * cover exactly the bytes the tensor's dims need. Data is read by range when a tensor is
 * used, never by reading the whole (possibly multi-GB) file.
 *
 * Spec: https://github.com/onnx/onnx/blob/main/docs/ExternalData.md
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, sep, win32 } from 'node:path';
import { ErrorCodes, GaiaError } from '../errors.js';
import type { TensorProtoLike } from './tensor-proto.js';
import { elementCount, rawByteLength } from './tensor-size.js';

/** Where a loaded external tensor's bytes are: a checked, real path and a byte range. */
export interface ExternalSource {
  readonly file: string;
  readonly offset: number;
  readonly length: number;
}

/**
 * Attached to a TensorProto object once its external data is checked. A symbol key: it
 * survives object spreads (renamed tensors) but never reaches protobuf encoding.
 */
export const EXTERNAL_SOURCE = Symbol('gaia.externalSource');

export const DATA_LOCATION_EXTERNAL = 1;

export type ExternalTensorProto = TensorProtoLike & { [EXTERNAL_SOURCE]?: ExternalSource };

export const externalSource = (proto: TensorProtoLike): ExternalSource | undefined =>
  (proto as ExternalTensorProto)[EXTERNAL_SOURCE];

/** Checks external tensors of one model against the folder its file is in. */
export class ExternalDataResolver {
  private realBase: string | undefined;
  private readonly checked = new Set<string>();

  /** `baseDir` undefined: the model came as bytes, so no external file can be read. */
  constructor(private readonly baseDir: string | undefined, private readonly source: string) {}

  /** The proto with its data source attached, or a GaiaError saying what is wrong with it. */
  resolve(proto: TensorProtoLike, where: string): ExternalTensorProto {
    const entries = new Map(((proto.externalData as Array<{ key?: string; value?: string }> | undefined) ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const location = entries.get('location') ?? '';
    if (this.baseDir === undefined) {
      throw pathError(`${where} stores its data in the external file "${location}", but ${this.source} was given as bytes; load the model from its file so the data can be found beside it`);
    }
    const file = this.checkLocation(location, where);
    const size = statSync(file).size;
    const dims = (proto.dims ?? []).map((v) => (typeof v === 'number' ? v : Number(v.toString())));
    const count = elementCount(dims, where);
    const needed = rawByteLength(proto.dataType ?? 0, count, where);
    if (needed === undefined) throw sizeError(`${where} is a string tensor stored externally; ONNX keeps string tensors in the model file`);
    const offset = parseCount(entries.get('offset'), 'offset', where) ?? 0;
    const declared = parseCount(entries.get('length'), 'length', where);
    // Without a length the data runs to the end of the file (ONNX's rule).
    const length = declared ?? size - offset;
    const shape = `dims [${dims.join(',')}] of data type ${proto.dataType ?? 0} (${needed} bytes)`;
    if (length !== needed) {
      throw sizeError(
        `${where} declares ${shape}, but its external data ${declared === undefined ? `runs from offset ${offset} to the end of "${location}" (${length} bytes)` : `has length ${declared}`}; ` +
          'the model and its data file do not belong together: re-export them',
      );
    }
    if (offset + length > size) {
      throw sizeError(`${where} needs bytes ${offset}…${offset + length} of "${location}", which holds only ${size}; the data file is truncated: copy it again`);
    }
    const checksum = entries.get('checksum');
    if (checksum) this.checkChecksum(file, size, checksum, location, where);
    return { ...proto, [EXTERNAL_SOURCE]: { file, offset, length } };
  }

  private checkLocation(location: string, where: string): string {
    const hint = 'external data must be a file inside the model\'s folder, named relative to it (as torch.onnx.export writes it)';
    if (location === '' || location.includes('\0')) throw pathError(`${where} has external data with no valid "location"; ${hint}`);
    if (isAbsolute(location) || win32.isAbsolute(location) || /^[A-Za-z]:/.test(location)) {
      throw pathError(`${where} has the absolute external data location "${location}"; ${hint}`);
    }
    if (location.split(/[\\/]/).includes('..')) throw pathError(`${where} has the external data location "${location}", which contains ".."; ${hint}`);
    let real: string;
    try {
      this.realBase ??= realpathSync(this.baseDir!);
      real = realpathSync(join(this.baseDir!, location));
    } catch (cause) {
      throw pathError(`${where} stores its data in "${location}", which cannot be opened in ${this.baseDir} (${(cause as Error).message}); copy the data file beside the model`, cause);
    }
    const rel = relative(this.realBase, real);
    if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      throw pathError(`${where} has the external data location "${location}", which resolves to ${real}, outside the model's folder ${this.realBase} (a link?); ${hint}`);
    }
    if (!statSync(real).isFile()) throw pathError(`${where} has the external data location "${location}", which is not a regular file; ${hint}`);
    return real;
  }

  /** ONNX's checksum key is the SHA-1 of the whole file; hashed in chunks, once per file. */
  private checkChecksum(file: string, size: number, checksum: string, location: string, where: string): void {
    const key = `${file}\0${checksum.toLowerCase()}`;
    if (this.checked.has(key)) return;
    const hash = createHash('sha1');
    forEachChunk({ file, offset: 0, length: size }, (chunk) => hash.update(chunk));
    const actual = hash.digest('hex');
    if (actual !== checksum.toLowerCase()) {
      throw new GaiaError(
        ErrorCodes.EXTERNAL_DATA_CHECKSUM,
        `${where}: "${location}" has SHA-1 ${actual}, but the model declares checksum ${checksum}; the data file was changed or belongs to another model`,
      );
    }
    this.checked.add(key);
  }
}

const pathError = (message: string, cause?: unknown) => new GaiaError(ErrorCodes.EXTERNAL_DATA_PATH, message, cause === undefined ? {} : { cause });
const sizeError = (message: string) => new GaiaError(ErrorCodes.EXTERNAL_DATA_SIZE, message);

function parseCount(value: string | undefined, key: string, where: string): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw sizeError(`${where} has external data ${key} "${value}"; it must be a byte count ≥ 0`);
  return n;
}

const CHUNK = 8 << 20;

/** Calls `fn` with consecutive pieces (at most 8 MiB each) of an external range. */
export function forEachChunk(src: ExternalSource, fn: (chunk: Uint8Array) => void): void {
  const fd = openSync(src.file, 'r');
  try {
    const buf = new Uint8Array(Math.min(CHUNK, Math.max(src.length, 1)));
    let done = 0;
    while (done < src.length) {
      const n = readSync(fd, buf, 0, Math.min(buf.byteLength, src.length - done), src.offset + done);
      if (n === 0) throw new GaiaError(ErrorCodes.EXTERNAL_DATA_SIZE, `${src.file} ended at byte ${src.offset + done} while reading ${src.length} bytes from ${src.offset}; it changed while loading`);
      fn(buf.subarray(0, n));
      done += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** The bytes of one external tensor (read when the tensor is used). */
export function readExternal(src: ExternalSource): Uint8Array {
  const out = new Uint8Array(src.length);
  let at = 0;
  forEachChunk(src, (chunk) => {
    out.set(chunk, at);
    at += chunk.byteLength;
  });
  return out;
}
