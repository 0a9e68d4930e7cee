/** Bad input gets an error that names the problem, the node, and what to do. */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileScoringGraph } from '../../src/compile/compiler.js';
import { verifyGraph } from '../../src/compile/verify.js';
import { ErrorCodes, GaiaError } from '../../src/errors.js';
import type { Model } from '../../src/onnx/graph.js';
import { decodeModel, loadModel } from '../../src/onnx/model-io.js';
import { caught } from '../helpers/caught.js';

const RESNET = join(import.meta.dirname, '..', 'fixtures', 'parity', 'resnet_basic', 'model.onnx');


describe('compiler errors', () => {
  let model: Model;
  beforeAll(async () => {
    model = await loadModel(RESNET);
  });

  it('names an unsupported op, its node, and the supported list', () => {
    const victim = model.graph.nodes.find((n) => n.opType === 'Relu' && n.name.includes('layer2'))!;
    const edited: Model = {
      ...model,
      graph: { ...model.graph, nodes: model.graph.nodes.map((n) => (n === victim ? { ...n, opType: 'Elu' } : n)) },
    };
    const err = caught(() => compileScoringGraph(edited));
    expect(err.code).toBe(ErrorCodes.UNSUPPORTED_OP);
    expect(err.node).toBe(victim.name);
    expect(err.message).toContain('Elu');
    expect(err.message).toContain(victim.name);
    expect(err.message).toMatch(/Supported: .*ConvTranspose|Supported: .*Conv, /);
  });

  it('reports an op with no shape rule (Hardmax) or of another domain (com.microsoft) as GAIA_UNSUPPORTED_OP', () => {
    const victim = model.graph.nodes.find((n) => n.opType === 'Relu' && n.name.includes('layer2'))!;
    const edit = (change: Partial<typeof victim>): Model => ({
      ...model,
      graph: { ...model.graph, nodes: model.graph.nodes.map((n) => (n === victim ? { ...n, ...change } : n)) },
    });
    for (const [change, op, domain] of [
      [{ opType: 'Hardmax' }, 'Hardmax', 'ai.onnx'],
      [{ opType: 'FusedConv', domain: 'com.microsoft' }, 'com.microsoft::FusedConv', 'com.microsoft'],
    ] as const) {
      const err = caught(() => compileScoringGraph(edit(change)));
      expect(err.code).toBe(ErrorCodes.UNSUPPORTED_OP);
      expect(err.node).toBe(victim.name);
      expect(err.message).toContain(`operator ${op}`);
      expect(err.message).toContain(`domain "${domain}"`);
      expect(err.message).toContain(victim.name);
      expect(err.message).toMatch(/Supported operators \(domain ai\.onnx\): .*BatchNormalization, .*Conv, /);
    }
  });

  it('refuses a model that is not a classifier', () => {
    const conv = model.graph.nodes.find((n) => n.opType === 'Conv')!;
    const edited: Model = { ...model, graph: { ...model.graph, outputs: [{ name: conv.outputs[0]! }] } };
    const err = caught(() => compileScoringGraph(edited));
    expect(err.code).toBe(ErrorCodes.NOT_A_CLASSIFIER);
    expect(err.message).toMatch(/2-D \[batch, classes\] logits/);
  });

  it('refuses a file that is not ONNX', () => {
    const err = caught(() => decodeModel(new TextEncoder().encode('this is a JPEG, honest'), 'frame.jpg'));
    expect(err.code).toBe(ErrorCodes.ONNX_PARSE);
    expect(err.message).toContain('frame.jpg is not an ONNX model');
  });

  it('refuses a tap with no path to the logits', () => {
    const bn = model.graph.nodes.find((n) => n.opType === 'BatchNormalization')!;
    const side = { name: 'side_branch', opType: 'Relu', domain: '', inputs: [bn.outputs[0]!], outputs: ['side_out'], attributes: [] };
    const edited: Model = { ...model, graph: { ...model.graph, nodes: [...model.graph.nodes, side] } };
    const err = caught(() => compileScoringGraph(edited, { taps: 'name:^side_branch$' }));
    expect(err.code).toBe(ErrorCodes.BAD_TAPS);
    expect(err.message).toContain('has no path to the logits');
    expect(err.node).toBe('side_branch');
  });

  it('says what to do when a tap selection matches nothing', () => {
    const err = caught(() => compileScoringGraph(model, { taps: 'name:^nothing-like-this$' }));
    expect(err.code).toBe(ErrorCodes.BAD_TAPS);
    expect(err.message).toContain('--taps name:REGEX');
  });

  it('refuses an opset outside the supported range', () => {
    const err = caught(() => compileScoringGraph({ ...model, opsets: [{ domain: '', version: 9 }] }));
    expect(err.code).toBe(ErrorCodes.UNSUPPORTED_OPSET);
    expect(err.message).toContain('opset_version=17');
  });

  it('verifier names the node that reads an undefined tensor', () => {
    const [first, ...rest] = model.graph.nodes;
    const err = caught(() => verifyGraph({ ...model.graph, nodes: [...rest, first!] }));
    expect(err.code).toBe(ErrorCodes.INVALID_GRAPH);
    expect(err.message).toMatch(/reads ".*", which no earlier node/);
  });
});
