/**
 * A decoded TensorProto, as protobufjs gives it (only the fields we touch are typed). Its
 * own module: tensor.ts and the external-data readers it uses both need it.
 */
export interface TensorProtoLike {
  name?: string;
  dims?: Array<number | string | { toNumber(): number }>;
  dataType?: number;
  rawData?: Uint8Array;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: Array<number | { toString(): string }>;
  doubleData?: number[];
  dataLocation?: number;
  [key: string]: unknown;
}
