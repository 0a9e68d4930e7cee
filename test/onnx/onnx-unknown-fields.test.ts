/**
 * Fields our vendored onnx.proto does not know (a newer IR's) survive load → save at every
 * level. The input is built with protobufjs' schema-free Writer, so the test does not rely
 * on our own encoder to make it; the output is checked the same way.
 */
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileScoringGraph } from '../../src/compile/compiler.js';
import type { Model } from '../../src/onnx/graph.js';
import { decodeModel, encodeModel } from '../../src/onnx/model-io.js';
import { UNKNOWN_KEY } from '../../src/onnx/unknown-fields.js';

const LEN = 2;
type Build = (w: protobuf.Writer) => void;

/** One length-delimited submessage field. */
const sub = (field: number, build: Build): Build => (w) => {
  w.uint32((field << 3) | LEN).fork();
  build(w);
  w.ldelim();
};
const str = (field: number, s: string): Build => (w) => void w.uint32((field << 3) | LEN).string(s);
const varint = (field: number, v: number): Build => (w) => void w.uint32(field << 3).uint64(v);
const all = (...parts: Build[]): Build => (w) => parts.forEach((p) => p(w));

// Unknown fields, one of each wire type, numbered far above what ONNX uses today.
const unknownAt = (base: number): Build =>
  all(
    varint(base, 123456789012),
    (w) => void w.uint32(((base + 1) << 3) | 1).fixed64(42),
    str(base + 2, `future-${base}`),
    (w) => void w.uint32(((base + 3) << 3) | 5).fixed32(7),
  );

function craft(): Uint8Array {
  const tensorType = sub(1, all(varint(1, 1), sub(2, all(sub(1, varint(1, 2)), sub(1, varint(1, 2))))));
  const valueInfo = (field: number, name: string) => sub(field, all(str(1, name), sub(2, tensorType)));
  // X's type: a dim denotation, a type denotation, and unknown fields in TypeProto.Tensor and TensorShapeProto.
  const annotated = sub(1, all(varint(1, 1), sub(2, all(sub(1, all(varint(1, 2), str(3, 'DATA_BATCH'))), sub(1, varint(1, 2)), unknownAt(960))), unknownAt(950)));
  const inputX = sub(11, all(str(1, 'X'), sub(2, all(annotated, str(6, 'TENSOR')))));
  const tensor = sub(5, all(varint(1, 2), varint(1, 2), varint(2, 1), str(8, 'W'),
    (w) => void w.uint32((9 << 3) | LEN).bytes(new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer)), unknownAt(900)));
  const node = sub(1, all(str(1, 'X'), str(1, 'W'), str(2, 'Y'), str(3, 'add'), str(4, 'Add'), unknownAt(800)));
  const graph = sub(7, all(node, str(2, 'g'), tensor, inputX, valueInfo(12, 'Y'), unknownAt(700)));
  const w = protobuf.Writer.create();
  all(varint(1, 10), sub(8, all(str(1, ''), varint(2, 20))), str(2, 'craft'), graph, unknownAt(600))(w);
  return w.finish();
}

/** Field number → raw values, schema-free (length-delimited values as bytes). */
function fields(bytes: Uint8Array): Map<number, unknown[]> {
  const r = protobuf.Reader.create(bytes);
  const out = new Map<number, unknown[]>();
  while (r.pos < r.len) {
    const tag = r.uint32();
    const value = [() => r.uint64().toString(), () => r.fixed64().toString(), () => r.bytes(), undefined, undefined, () => r.fixed32()][tag & 7]!();
    out.set(tag >>> 3, [...(out.get(tag >>> 3) ?? []), value]);
  }
  return out;
}
const one = (m: Map<number, unknown[]>, f: number) => m.get(f)![0] as Uint8Array;

function expectUnknownAt(msg: Map<number, unknown[]>, base: number): void {
  expect(msg.get(base)).toEqual(['123456789012']);
  expect(msg.get(base + 1)).toEqual(['42']);
  expect(new TextDecoder().decode(one(msg, base + 2))).toBe(`future-${base}`);
  expect(msg.get(base + 3)).toEqual([7]);
}

describe('unknown protobuf fields', () => {
  it('are kept on the model, graph, node, tensor and tensor type, and written back', () => {
    const model = decodeModel(craft());
    expect(model.extra[UNKNOWN_KEY]).toBeInstanceOf(Uint8Array);
    expect(model.graph.extra?.[UNKNOWN_KEY]).toBeInstanceOf(Uint8Array);
    expect(model.graph.nodes[0]!.extra?.[UNKNOWN_KEY]).toBeInstanceOf(Uint8Array);
    expect(model.graph.initializers.get('W')!.toProto()[UNKNOWN_KEY]).toBeInstanceOf(Uint8Array);
    expect(Array.from(model.graph.initializers.get('W')!.toNumbers())).toEqual([1, 2, 3, 4]);

    const saved = encodeModel(model);
    const top = fields(saved);
    expectUnknownAt(top, 600);
    const graph = fields(one(top, 7));
    expectUnknownAt(graph, 700);
    expectUnknownAt(fields(one(graph, 1)), 800);
    expectUnknownAt(fields(one(graph, 5)), 900);
    const typeX = fields(one(fields(one(graph, 11)), 2));
    expect(new TextDecoder().decode(one(typeX, 6))).toBe('TENSOR');
    const tensorTypeX = fields(one(typeX, 1));
    expectUnknownAt(tensorTypeX, 950);
    const shapeX = fields(one(tensorTypeX, 2));
    expectUnknownAt(shapeX, 960);
    expect(new TextDecoder().decode(one(fields(one(shapeX, 1)), 3))).toBe('DATA_BATCH');
    // A second round trip is a fixed point.
    expect(encodeModel(decodeModel(saved))).toEqual(saved);
  });

  it('do not leak into other messages of the same type', () => {
    const model = decodeModel(craft());
    const graph = fields(one(fields(encodeModel(model)), 7));
    // The output's value_info carried none.
    for (const f of [12]) expect([...fields(one(graph, f)).keys()].every((k) => k < 600)).toBe(true);
  });

  it('pass through the compiler on the model, its graph, the nodes and the weights it does not edit', () => {
    const resnet = decodeModel(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'parity', 'resnet_basic', 'model.onnx')));
    const tag = (n: number) => Uint8Array.of((n << 3) & 0x7f | 0x80, n >> 4, 0x01); // field n (≥ 16), varint 1
    const conv = resnet.graph.nodes.find((n) => n.opType === 'Conv')!;
    const weight = resnet.graph.initializers.get(conv.inputs[1]!)!;
    const withUnknown: Model = {
      ...resnet,
      extra: { ...resnet.extra, [UNKNOWN_KEY]: tag(600) },
      graph: {
        ...resnet.graph,
        extra: { ...resnet.graph.extra, [UNKNOWN_KEY]: tag(700) },
        nodes: resnet.graph.nodes.map((n) => (n === conv ? { ...n, extra: { ...n.extra, [UNKNOWN_KEY]: tag(800) } } : n)),
      },
    };
    (weight.toProto() as Record<string, unknown>)[UNKNOWN_KEY] = tag(900);
    const compiled = decodeModel(encodeModel(compileScoringGraph(withUnknown).model));
    expect(fields(compiled.extra[UNKNOWN_KEY] as Uint8Array).get(600)).toEqual(['1']);
    expect(fields(compiled.graph.extra![UNKNOWN_KEY] as Uint8Array).get(700)).toEqual(['1']);
    const node = compiled.graph.nodes.find((n) => n.name === conv.name)!;
    expect(fields(node.extra![UNKNOWN_KEY] as Uint8Array).get(800)).toEqual(['1']);
    expect(fields(compiled.graph.initializers.get(weight.name)!.toProto()[UNKNOWN_KEY] as Uint8Array).get(900)).toEqual(['1']);
  });
});
