/**
 * Unknown protobuf fields survive load → save. protobufjs skips fields its schema does not
 * know, so a field that a newer ONNX IR adds would silently vanish from a compiled model.
 * Each message type's codec is wrapped: decoding scans the message's own top-level tags
 * once more and keeps the raw bytes of fields the schema lacks under `$unknown`;
 * toObject/fromObject carry that key along, and encoding re-emits those fields after the
 * known ones (field order is not significant in protobuf).
 */
import protobuf from 'protobufjs';
import { ErrorCodes, GaiaError } from '../errors.js';

/** The key, on decoded messages and plain objects alike, that holds unknown fields' bytes. */
export const UNKNOWN_KEY = '$unknown';

type Msg = Record<string, unknown>;

/** Wraps every message type under `root` (call after resolveAll). */
export function keepUnknownFields(root: protobuf.Root): void {
  for (const type of messageTypes(root)) wrap(type);
}

function messageTypes(ns: protobuf.NamespaceBase): protobuf.Type[] {
  const out: protobuf.Type[] = [];
  for (const child of ns.nestedArray) {
    if (child instanceof protobuf.Type) out.push(child);
    if (child instanceof protobuf.Namespace || child instanceof protobuf.Type) out.push(...messageTypes(child));
  }
  return out;
}

function wrap(type: protobuf.Type): void {
  // setup() generates the codecs; nested messages call them through the Type objects'
  // own properties (`types[i].decode(...)`), so replacing those covers every level.
  type.setup();
  const { decode, encode, fromObject, toObject } = type;
  const t = type as unknown as Record<string, (...args: unknown[]) => unknown>;
  t.decode = (r: unknown, length?: unknown, ...rest: unknown[]) => {
    const reader = r instanceof protobuf.Reader ? r : protobuf.Reader.create(r as Uint8Array);
    const start = reader.pos;
    const end = typeof length === 'number' ? reader.pos + length : reader.len;
    const msg = (decode as unknown as (...a: unknown[]) => Msg).call(type, reader, length, ...rest);
    // A group-delimited message (end undefined length) is never used by ONNX; skip it.
    if (rest[0] === undefined) {
      const unknown = scanUnknown(type, reader.buf, start, end);
      if (unknown) msg[UNKNOWN_KEY] = unknown;
    }
    return msg;
  };
  t.encode = (m: unknown, w?: unknown, ...rest: unknown[]) => {
    const writer = (encode as unknown as (...a: unknown[]) => protobuf.Writer).call(type, m, w, ...rest);
    const unknown = (m as Msg)[UNKNOWN_KEY];
    if (unknown instanceof Uint8Array) reemit(unknown, writer);
    return writer;
  };
  t.fromObject = (d: unknown, ...rest: unknown[]) => {
    const msg = (fromObject as unknown as (...a: unknown[]) => Msg).call(type, d, ...rest);
    const unknown = (d as Msg)[UNKNOWN_KEY];
    if (unknown instanceof Uint8Array) msg[UNKNOWN_KEY] = unknown;
    return msg;
  };
  t.toObject = (m: unknown, ...rest: unknown[]) => {
    const obj = (toObject as unknown as (...a: unknown[]) => Msg).call(type, m, ...rest);
    const unknown = (m as Msg)[UNKNOWN_KEY];
    if (unknown instanceof Uint8Array) obj[UNKNOWN_KEY] = unknown;
    return obj;
  };
}

/** The raw bytes (tags included) of the fields in buf[start, end) that `type` does not declare. */
function scanUnknown(type: protobuf.Type, buf: Uint8Array, start: number, end: number): Uint8Array | undefined {
  const r = protobuf.Reader.create(buf);
  r.pos = start;
  r.len = end;
  const parts: Uint8Array[] = [];
  while (r.pos < end) {
    const at = r.pos;
    const tag = r.uint32();
    const wire = tag & 7;
    r.skipType(wire);
    if (type.fieldsById[tag >>> 3] === undefined && wire !== 3) parts.push(buf.slice(at, r.pos));
  }
  if (parts.length === 0) return undefined;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

/** Writes raw fields back through the public Writer API, one field at a time. */
function reemit(raw: Uint8Array, w: protobuf.Writer): void {
  const r = protobuf.Reader.create(raw);
  while (r.pos < r.len) {
    const tag = r.uint32();
    w.uint32(tag);
    switch (tag & 7) {
      case 0: w.uint64(r.uint64()); break;
      case 1: w.fixed64(r.fixed64()); break;
      case 2: w.bytes(r.bytes()); break;
      case 5: w.fixed32(r.fixed32()); break;
      // scanUnknown never keeps groups (wire type 3), the only other kind.
      default: throw new GaiaError(ErrorCodes.ONNX_PARSE, `unknown field ${tag >>> 3} has wire type ${tag & 7}, which cannot be re-encoded`);
    }
  }
}
