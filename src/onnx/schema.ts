/**
 * The ONNX protobuf wire format, from the official schema: src/onnx/proto/onnx.proto is
 * vendored unmodified from the onnx package (version and licence in proto/README.md) and
 * parsed by protobufjs at start-up, so an IR bump is a file copy, not a transcription.
 * Names follow protobufjs' camelCase convention (raw_data → rawData). Fields the schema
 * does not know (a newer IR's) are kept as raw bytes and written back (unknown-fields.ts).
 *
 * Spec: https://github.com/onnx/onnx/blob/main/docs/IR.md
 */
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { keepUnknownFields } from './unknown-fields.js';

// Read beside this module: src/onnx/proto in the repository, dist/src/onnx/proto once built
// (npm run build copies it there).
const PROTO_URL = new URL('./proto/onnx.proto', import.meta.url);

const root = protobuf.parse(readFileSync(PROTO_URL, 'utf8'), { keepCase: false }).root;
root.resolveAll();
keepUnknownFields(root);

/** The decoder/encoder for a whole ONNX model file. */
export const ModelProtoType = root.lookupType('onnx.ModelProto');
/** The decoder/encoder for one TensorProto (tests build hand-made messages with it). */
export const TensorProtoType = root.lookupType('onnx.TensorProto');

/** ONNX TensorProto.DataType values this project reads or writes. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;

/** AttributeProto.AttributeType values. */
export const AttributeType = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
} as const;
