import { DataType } from './schema.js';
import type { TensorProtoLike } from './tensor-proto.js';
import { DATA_LOCATION_EXTERNAL, externalSource, readExternal } from './external-data.js';
import { ErrorCodes, GaiaError } from '../errors.js';

/** Element arrays for the tensor types the compiler reads and writes. */
export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

export type { TensorProtoLike } from './tensor-proto.js';

const toNumber = (v: number | string | { toNumber(): number }): number =>
  typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : v.toNumber();

/**
 * A constant tensor: an initializer, or the value of a Constant node. The original proto
 * is kept so that tensors the compiler never edits are written back byte for byte; an
 * external tensor's data is read (by range) only when `data` is first used.
 */
export class Tensor {
  private decoded: TensorData | undefined;

  private constructor(
    readonly name: string,
    readonly dataType: number,
    readonly dims: readonly number[],
    private readonly proto: TensorProtoLike | undefined,
    data: TensorData | undefined,
  ) {
    this.decoded = data;
  }

  static fromProto(proto: TensorProtoLike, name = proto.name ?? ''): Tensor {
    // External data is checked and attached when the model is loaded (external-data.ts);
    // a proto that still lacks it came from bytes with no folder to read the file from.
    if (proto.dataLocation === DATA_LOCATION_EXTERNAL && !externalSource(proto)) {
      throw new GaiaError(
        ErrorCodes.EXTERNAL_DATA_PATH,
        `tensor "${name}" stores its data in an external file, but the model was not loaded from its folder; ` +
          'load it with loadModel(path) so the data file beside it is found',
      );
    }
    const dims = (proto.dims ?? []).map(toNumber);
    return new Tensor(name, proto.dataType ?? 0, dims, proto, undefined);
  }

  static float32(name: string, dims: readonly number[], data: Float32Array | number[]): Tensor {
    const arr = data instanceof Float32Array ? data : Float32Array.from(data);
    checkSize(name, dims, arr.length);
    return new Tensor(name, DataType.FLOAT, [...dims], undefined, arr);
  }

  static int64(name: string, dims: readonly number[], data: readonly number[]): Tensor {
    checkSize(name, dims, data.length);
    return new Tensor(name, DataType.INT64, [...dims], undefined, BigInt64Array.from(data.map(BigInt)));
  }

  get size(): number {
    return this.dims.reduce((a, b) => a * b, 1);
  }

  /** A copy under another name (the data is shared; tensors are never mutated). */
  renamed(name: string): Tensor {
    return new Tensor(name, this.dataType, this.dims, this.proto ? { ...this.proto, name } : undefined, this.decoded);
  }

  get data(): TensorData {
    this.decoded ??= decode(this.name, this.dataType, this.size, this.proto!);
    return this.decoded;
  }

  /** The elements as JavaScript numbers (int64 values must fit in a double). */
  toNumbers(): number[] {
    const d = this.data;
    return d instanceof BigInt64Array ? Array.from(d, Number) : Array.from(d as ArrayLike<number>);
  }

  toFloat32(): Float32Array {
    const d = this.data;
    if (d instanceof Float32Array) return d;
    return Float32Array.from(this.toNumbers());
  }

  toProto(): TensorProtoLike {
    if (this.proto) return this.proto;
    const d = this.data;
    return {
      name: this.name,
      dims: [...this.dims],
      dataType: this.dataType,
      rawData: new Uint8Array(d.buffer, d.byteOffset, d.byteLength),
    };
  }
}

function checkSize(name: string, dims: readonly number[], length: number): void {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (expected !== length) {
    throw new Error(`tensor "${name}": dims [${dims.join(',')}] need ${expected} elements, got ${length}`);
  }
}

function decode(name: string, dataType: number, size: number, proto: TensorProtoLike): TensorData {
  const src = externalSource(proto);
  const raw = src ? readExternal(src) : proto.rawData;
  const fromRaw = <T>(ctor: { new (b: ArrayBuffer, o: number, n: number): T; BYTES_PER_ELEMENT: number }): T => {
    // Copy into a fresh buffer: the view is then aligned, and a Node Buffer's slice()
    // would share (and start at the beginning of) the whole pooled ArrayBuffer.
    const bytes = new Uint8Array(raw!);
    if (bytes.byteLength !== size * ctor.BYTES_PER_ELEMENT) {
      throw new GaiaError(
        ErrorCodes.ONNX_PARSE,
        `tensor "${name}" has ${bytes.byteLength} bytes of data for ${size} elements of ${ctor.BYTES_PER_ELEMENT} bytes`,
      );
    }
    return new ctor(bytes.buffer, 0, size);
  };
  const hasRaw = raw !== undefined && raw.byteLength > 0;
  switch (dataType) {
    case DataType.FLOAT:
      return hasRaw ? fromRaw(Float32Array) : Float32Array.from(proto.floatData ?? []);
    case DataType.DOUBLE:
      return hasRaw ? fromRaw(Float64Array) : Float64Array.from(proto.doubleData ?? []);
    case DataType.INT64:
      return hasRaw
        ? fromRaw(BigInt64Array)
        : BigInt64Array.from((proto.int64Data ?? []).map((v) => BigInt(v.toString())));
    case DataType.INT32:
      return hasRaw ? fromRaw(Int32Array) : Int32Array.from(proto.int32Data ?? []);
    case DataType.UINT8:
    case DataType.BOOL:
      return hasRaw ? fromRaw(Uint8Array) : Uint8Array.from(proto.int32Data ?? []);
    default:
      throw new GaiaError(
        ErrorCodes.UNSUPPORTED_OP,
        `tensor "${name}" has ONNX data type ${dataType}, which the compiler cannot read ` +
          '(supported: float, double, int64, int32, uint8, bool)',
      );
  }
}
