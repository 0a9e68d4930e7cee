/**
 * The ONNX protobuf wire format (onnx.proto, IR version 10), written as a protobufjs
 * JSON descriptor. Field numbers are the ONNX specification; names follow protobufjs'
 * camelCase convention. Fields this schema does not know are skipped on decode, so the
 * schema covers every field an exported CNN classifier can carry.
 *
 * Spec: https://github.com/onnx/onnx/blob/main/docs/IR.md
 */
import protobuf from 'protobufjs';

const repeated = (type: string, id: number) => ({ rule: 'repeated', type, id });
const field = (type: string, id: number) => ({ type, id });
const entries = (id: number) => repeated('StringStringEntryProto', id);

const descriptor = {
  nested: {
    onnx: {
      nested: {
        AttributeProto: {
          fields: {
            name: field('string', 1),
            refAttrName: field('string', 21),
            docString: field('string', 13),
            type: field('AttributeType', 20),
            f: field('float', 2),
            i: field('int64', 3),
            s: field('bytes', 4),
            t: field('TensorProto', 5),
            g: field('GraphProto', 6),
            sparseTensor: field('SparseTensorProto', 22),
            tp: field('TypeProto', 14),
            floats: repeated('float', 7),
            ints: repeated('int64', 8),
            strings: repeated('bytes', 9),
            tensors: repeated('TensorProto', 10),
            graphs: repeated('GraphProto', 11),
            sparseTensors: repeated('SparseTensorProto', 23),
            typeProtos: repeated('TypeProto', 15),
          },
          nested: {
            AttributeType: {
              values: {
                UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, SPARSE_TENSOR: 11,
                TYPE_PROTO: 13, FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10,
                SPARSE_TENSORS: 12, TYPE_PROTOS: 14,
              },
            },
          },
        },
        ValueInfoProto: {
          fields: {
            name: field('string', 1),
            type: field('TypeProto', 2),
            docString: field('string', 3),
            metadataProps: entries(4),
          },
        },
        NodeProto: {
          fields: {
            input: repeated('string', 1),
            output: repeated('string', 2),
            name: field('string', 3),
            opType: field('string', 4),
            domain: field('string', 7),
            overload: field('string', 8),
            attribute: repeated('AttributeProto', 5),
            docString: field('string', 6),
            metadataProps: entries(9),
          },
        },
        TrainingInfoProto: {
          fields: {
            initialization: field('GraphProto', 1),
            algorithm: field('GraphProto', 2),
            initializationBinding: entries(3),
            updateBinding: entries(4),
          },
        },
        ModelProto: {
          fields: {
            irVersion: field('int64', 1),
            opsetImport: repeated('OperatorSetIdProto', 8),
            producerName: field('string', 2),
            producerVersion: field('string', 3),
            domain: field('string', 4),
            modelVersion: field('int64', 5),
            docString: field('string', 6),
            graph: field('GraphProto', 7),
            metadataProps: entries(14),
            trainingInfo: repeated('TrainingInfoProto', 20),
            functions: repeated('FunctionProto', 25),
          },
        },
        StringStringEntryProto: {
          fields: { key: field('string', 1), value: field('string', 2) },
        },
        TensorAnnotation: {
          fields: {
            tensorName: field('string', 1),
            quantParameterTensorNames: entries(2),
          },
        },
        GraphProto: {
          fields: {
            node: repeated('NodeProto', 1),
            name: field('string', 2),
            initializer: repeated('TensorProto', 5),
            sparseInitializer: repeated('SparseTensorProto', 15),
            docString: field('string', 10),
            input: repeated('ValueInfoProto', 11),
            output: repeated('ValueInfoProto', 12),
            valueInfo: repeated('ValueInfoProto', 13),
            quantizationAnnotation: repeated('TensorAnnotation', 14),
            metadataProps: entries(16),
          },
        },
        TensorProto: {
          fields: {
            dims: repeated('int64', 1),
            dataType: field('int32', 2),
            segment: field('Segment', 3),
            floatData: repeated('float', 4),
            int32Data: repeated('int32', 5),
            stringData: repeated('bytes', 6),
            int64Data: repeated('int64', 7),
            name: field('string', 8),
            docString: field('string', 12),
            rawData: field('bytes', 9),
            externalData: entries(13),
            dataLocation: field('DataLocation', 14),
            doubleData: repeated('double', 10),
            uint64Data: repeated('uint64', 11),
            metadataProps: entries(16),
          },
          nested: {
            Segment: { fields: { begin: field('int64', 1), end: field('int64', 2) } },
            DataLocation: { values: { DEFAULT: 0, EXTERNAL: 1 } },
          },
        },
        SparseTensorProto: {
          fields: {
            values: field('TensorProto', 1),
            indices: field('TensorProto', 2),
            dims: repeated('int64', 3),
          },
        },
        TensorShapeProto: {
          fields: { dim: repeated('Dimension', 1) },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
              fields: {
                dimValue: field('int64', 1),
                dimParam: field('string', 2),
                denotation: field('string', 3),
              },
            },
          },
        },
        TypeProto: {
          oneofs: {
            value: {
              oneof: ['tensorType', 'sequenceType', 'mapType', 'optionalType', 'sparseTensorType'],
            },
          },
          fields: {
            tensorType: field('Tensor', 1),
            sequenceType: field('Sequence', 4),
            mapType: field('Map', 5),
            optionalType: field('Optional', 9),
            sparseTensorType: field('SparseTensor', 8),
            denotation: field('string', 6),
          },
          nested: {
            Tensor: { fields: { elemType: field('int32', 1), shape: field('TensorShapeProto', 2) } },
            Sequence: { fields: { elemType: field('TypeProto', 1) } },
            Map: { fields: { keyType: field('int32', 1), valueType: field('TypeProto', 2) } },
            Optional: { fields: { elemType: field('TypeProto', 1) } },
            SparseTensor: {
              fields: { elemType: field('int32', 1), shape: field('TensorShapeProto', 2) },
            },
          },
        },
        OperatorSetIdProto: {
          fields: { domain: field('string', 1), version: field('int64', 2) },
        },
        FunctionProto: {
          fields: {
            name: field('string', 1),
            input: repeated('string', 4),
            output: repeated('string', 5),
            attribute: repeated('string', 6),
            attributeProto: repeated('AttributeProto', 11),
            node: repeated('NodeProto', 7),
            docString: field('string', 8),
            opsetImport: repeated('OperatorSetIdProto', 9),
            domain: field('string', 10),
            overload: field('string', 13),
            valueInfo: repeated('ValueInfoProto', 12),
            metadataProps: entries(14),
          },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(descriptor);

/** The decoder/encoder for a whole ONNX model file. */
export const ModelProtoType = root.lookupType('onnx.ModelProto');

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
