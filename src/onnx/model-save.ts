/**
 * Writing a model file. One file when it fits protobuf's 2 GB message limit; otherwise
 * the large tensors go to `<file>.data` beside it (data_location = EXTERNAL, location
 * relative to the model's folder), which onnxruntime and onnx.load read as they are.
 * Both files are written under temporary names and renamed at the end, so a failed save
 * leaves no half-written model, and saving over the model being read is safe.
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { writeFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ErrorCodes, GaiaError } from '../errors.js';
import { DATA_LOCATION_EXTERNAL, externalSource } from './external-data.js';
import type { Model } from './graph.js';
import { encodeModel, encodeObject, modelToObject, PROTOBUF_LIMIT_BYTES, tensorDataBytes } from './model-io.js';
import type { TensorProtoLike } from './tensor-proto.js';
import { contentByteLength, forEachContentChunk } from './tensor-content.js';
import { mapTensorProtos } from './tensor-protos.js';

export interface SaveOptions {
  /**
   * Largest total tensor data written into the model file itself; above it, tensors go
   * to the external data file. Default: protobuf's limit less 64 MiB for the graph.
   */
  readonly maxSingleFileBytes?: number;
  /** With external data, tensors smaller than this stay in the model file (default 1024, as onnx). */
  readonly externalMinBytes?: number;
}

const GRAPH_MARGIN_BYTES = 64 << 20;
/** Tensors of 1 MiB or more start at a 64 KiB boundary, so runtimes can map them directly. */
const ALIGN_LARGE_FROM = 1 << 20;
const ALIGN_LARGE = 64 << 10;
const ALIGN_SMALL = 16;

export async function saveModel(model: Model, path: string, options: SaveOptions = {}): Promise<void> {
  const limit = options.maxSingleFileBytes ?? PROTOBUF_LIMIT_BYTES - GRAPH_MARGIN_BYTES;
  const total = tensorDataBytes(modelToObject(model));
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    if (total <= limit) {
      await writeFile(tmp, encodeModel(model));
      await rename(tmp, path);
      return;
    }
    const dataName = `${basename(path)}.data`;
    const dataTmp = join(dirname(path), `${dataName}.tmp-${process.pid}`);
    try {
      const proto = writeExternal(model, dataTmp, dataName, options.externalMinBytes ?? 1024);
      await writeFile(tmp, proto);
      renameSync(dataTmp, join(dirname(path), dataName));
      await rename(tmp, path);
    } finally {
      rmSync(dataTmp, { force: true });
    }
  } catch (cause) {
    await rm(tmp, { force: true });
    if (cause instanceof GaiaError) throw cause;
    throw new GaiaError(ErrorCodes.IO, `cannot write model file ${path}: ${(cause as Error).message}`, { cause });
  }
}

/** Writes the data of large tensors to `dataPath` (one tensor in memory at a time) and returns the model's protobuf bytes. */
function writeExternal(model: Model, dataPath: string, location: string, minBytes: number): Uint8Array {
  const fd = openSync(dataPath, 'w');
  try {
    let offset = 0;
    const obj = mapTensorProtos(modelToObject(model), (p): TensorProtoLike => {
      const length = contentByteLength(p);
      if (p.dataType === 8 || (length < minBytes && !externalSource(p))) return p;
      const align = length >= ALIGN_LARGE_FROM ? ALIGN_LARGE : ALIGN_SMALL;
      offset = Math.ceil(offset / align) * align;
      const start = offset;
      forEachContentChunk(p, (chunk) => {
        let done = 0;
        while (done < chunk.byteLength) done += writeSync(fd, chunk, done, chunk.byteLength - done, offset + done);
        offset += chunk.byteLength;
      });
      const { rawData: _r, floatData: _f, int32Data: _i, int64Data: _l, doubleData: _d, uint64Data: _u, externalData: _e, ...rest } = p;
      return {
        ...rest,
        dataLocation: DATA_LOCATION_EXTERNAL,
        externalData: [
          { key: 'location', value: location },
          { key: 'offset', value: String(start) },
          { key: 'length', value: String(length) },
        ],
      };
    });
    return encodeObject(obj);
  } finally {
    closeSync(fd);
  }
}
