/**
 * How many bytes (or typed-field entries) a TensorProto's dims call for, by data type, and
 * the check that the data a model carries is exactly that. A declared 4e9-element tensor
 * with 64 bytes of data must be refused here, before the compiler writes a file that
 * onnxruntime then rejects.
 *
 * Spec: TensorProto in https://github.com/onnx/onnx/blob/main/onnx/onnx.proto
 */
import { ErrorCodes, GaiaError } from '../errors.js';
import type { TensorProtoLike } from './tensor-proto.js';

/** Bits per element of each fixed-size TensorProto.DataType (STRING = 8 has no size). */
const ELEMENT_BITS: Readonly<Record<number, number>> = {
  1: 32, 2: 8, 3: 8, 4: 16, 5: 16, 6: 32, 7: 64, 9: 8, 10: 16, 11: 64, 12: 32, 13: 64,
  14: 64, 15: 128, 16: 16, 17: 8, 18: 8, 19: 8, 20: 8, 21: 4, 22: 4, 23: 4, 24: 8,
  25: 2, 26: 2, 27: 6, 28: 6,
};

export const STRING_TYPE = 8;

/** The element count dims declare (refusing negative or non-integer dims). */
export function elementCount(dims: readonly number[], where: string): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new GaiaError(ErrorCodes.TENSOR_SIZE, `${where} has dims [${dims.join(',')}]: every dim must be an integer ≥ 0`);
    }
    n *= d;
  }
  return n;
}

/** Bytes of raw (little-endian, sub-byte types packed) data for `count` elements; undefined for strings. */
export function rawByteLength(dataType: number, count: number, where: string): number | undefined {
  if (dataType === STRING_TYPE) return undefined;
  const bits = ELEMENT_BITS[dataType];
  if (bits === undefined) {
    throw new GaiaError(ErrorCodes.ONNX_PARSE, `${where} has unknown ONNX data type ${dataType}; re-export with a standard element type`);
  }
  return Math.ceil((count * bits) / 8);
}

/** The typed field a dataType's values live in when not raw, and entries per element. */
function typedField(dataType: number): { field: keyof TensorProtoLike; perElement: number } {
  switch (dataType) {
    case 1: return { field: 'floatData', perElement: 1 };
    case 14: return { field: 'floatData', perElement: 2 };
    case 7: return { field: 'int64Data', perElement: 1 };
    case 11: return { field: 'doubleData', perElement: 1 };
    case 15: return { field: 'doubleData', perElement: 2 };
    case 12: case 13: return { field: 'uint64Data', perElement: 1 };
    case STRING_TYPE: return { field: 'stringData', perElement: 1 };
    default: return { field: 'int32Data', perElement: 1 };
  }
}

const dimsOf = (proto: TensorProtoLike): number[] =>
  (proto.dims ?? []).map((v) => (typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : v.toNumber()));

/**
 * Checks that a tensor stored in the model file (raw_data or a typed field) holds exactly
 * the data its dims declare. External tensors are checked against their file instead.
 */
export function checkInlineSize(proto: TensorProtoLike, where: string): void {
  const dims = dimsOf(proto);
  const count = elementCount(dims, where);
  const dataType = proto.dataType ?? 0;
  const raw = proto.rawData;
  const shape = `dims [${dims.join(',')}] (${count} elements)`;
  if (raw !== undefined && raw.byteLength > 0) {
    const expected = rawByteLength(dataType, count, where);
    if (expected === undefined) {
      throw new GaiaError(ErrorCodes.TENSOR_SIZE, `${where} is a string tensor with raw_data; ONNX stores strings in string_data only`);
    }
    if (raw.byteLength !== expected) {
      throw new GaiaError(
        ErrorCodes.TENSOR_SIZE,
        `${where} declares ${shape} of data type ${dataType}, which need ${expected} bytes, but its raw_data holds ${raw.byteLength}; ` +
          'the model file is truncated or corrupt: re-export it',
      );
    }
    return;
  }
  const { field, perElement } = typedField(dataType);
  const entries = ((proto[field] as unknown[] | undefined) ?? []).length;
  // Sub-byte types pack several elements per int32_data entry.
  const bits = ELEMENT_BITS[dataType] ?? 8;
  const expected = field === 'int32Data' && bits < 8 ? Math.ceil((count * bits) / 8) : count * perElement;
  if (entries !== expected) {
    throw new GaiaError(
      ErrorCodes.TENSOR_SIZE,
      `${where} declares ${shape} of data type ${dataType}, which need ${expected} ${String(field)} entries, but it holds ${entries}; ` +
        'the model file is truncated or corrupt: re-export it',
    );
  }
}

/**
 * A sparse tensor's parts must fit its dense shape: values [NNZ]; indices int64, [NNZ]
 * (linear) or [NNZ, rank]. Their data sizes are checked like any tensor's.
 */
export function checkSparseShape(sparse: Record<string, unknown>, where: string): void {
  const values = sparse.values as TensorProtoLike | undefined;
  const indices = sparse.indices as TensorProtoLike | undefined;
  const dense = ((sparse.dims as unknown[] | undefined) ?? []).map((d) => Number(String(d)));
  const fail = (what: string): never => {
    throw new GaiaError(ErrorCodes.TENSOR_SIZE, `${where} ${what}; the model file is corrupt: re-export it`);
  };
  if (!values || !indices) fail('lacks its values or indices');
  const vd = dimsOf(values!);
  const id = dimsOf(indices!);
  elementCount(dense, where);
  if (vd.length !== 1) fail(`has values of dims [${vd.join(',')}]; they must be 1-D [NNZ]`);
  const nnz = vd[0]!;
  const linear = id.length === 1 && id[0] === nnz;
  const coords = id.length === 2 && id[0] === nnz && id[1] === dense.length;
  if (!linear && !coords) fail(`has ${nnz} values but indices of dims [${id.join(',')}]; expected [${nnz}] or [${nnz},${dense.length}]`);
  if (indices!.dataType !== 7) fail(`has indices of data type ${indices!.dataType ?? 0}; they must be int64 (7)`);
}
