/**
 * Default tap selection across exporters: traces it reads (TorchScript's onnx::Conv_<n>
 * fold parameters, the dynamo exporter's node metadata), the structural reading of an export
 * without traces, and the message for a model with no BatchNorm at all.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileScoringGraph } from '../../src/compile/compiler.js';
import { ErrorCodes } from '../../src/errors.js';
import { renameTensors, type Model } from '../../src/onnx/graph.js';
import { loadModel } from '../../src/onnx/model-io.js';
import { caught } from '../helpers/caught.js';

const FOLDED = join(import.meta.dirname, '..', 'fixtures', 'parity', 'plain_cnn', 'model.folded.onnx');
const DYNAMO = join(import.meta.dirname, '..', 'fixtures', 'zoo', 'densenet_tiny', 'dynamo', 'model.onnx');

/** The same export with its fold parameters renamed, as an optimiser or another exporter leaves it. */
function withoutTraces(model: Model, producerName: string): Model {
  const renames = new Map([...model.graph.initializers.keys()].filter((n) => n.startsWith('onnx::Conv_')).map((n, i) => [n, `param_${i}`]));
  return { ...model, graph: renameTensors(model.graph, renames), extra: { ...model.extra, producerName } };
}


describe('default taps', () => {
  let folded: Model;
  beforeAll(async () => {
    folded = await loadModel(FOLDED);
  });

  it('reads the TorchScript exporter’s fold parameters', () => {
    const { taps, notes } = compileScoringGraph(folded);
    expect(taps.map((t) => t.reason)).toEqual(taps.map(() => 'folded-bn conv (TorchScript export)'));
    expect(notes).toEqual([]);
  });

  it('reads the dynamo exporter’s metadata, for folded Convs beside BatchNormalization nodes', async () => {
    const { taps } = compileScoringGraph(await loadModel(DYNAMO));
    const reasons = new Set(taps.map((t) => t.reason));
    expect(reasons).toEqual(new Set(['batchnorm', 'folded-bn conv (dynamo export: FuseBatchNormIntoConv)']));
  });

  it('infers the folded Convs of an export without traces, and says so', () => {
    const expected = compileScoringGraph(folded).taps.map((t) => t.node);
    const { taps, notes } = compileScoringGraph(withoutTraces(folded, 'some-optimiser'));
    expect(taps.map((t) => t.node)).toEqual(expected);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain('inferred 3 taps');
    expect(notes[0]).toContain('--taps');
  });

  it('reads a converter’s naming of a fused Conv after its BatchNorm (tf2onnx: …/FusedBatchNormV3)', () => {
    const bare = withoutTraces(folded, 'tf2onnx');
    const named: Model = {
      ...bare,
      graph: { ...bare.graph, nodes: bare.graph.nodes.map((n, i) => (n.opType === 'Conv' ? { ...n, name: `model/block${i}/bn/FusedBatchNormV3` } : n)) },
    };
    const { taps, notes } = compileScoringGraph(named);
    expect(taps).toHaveLength(3);
    expect(taps.every((t) => t.reason === 'folded-bn conv (named after its BatchNorm)')).toBe(true);
    expect(notes).toEqual([]);
  });

  it('says a PyTorch export without BatchNorm has none, naming the --taps choices', () => {
    const err = caught(() => compileScoringGraph(withoutTraces(folded, 'pytorch')));
    expect(err.code).toBe(ErrorCodes.BAD_TAPS);
    expect(err.message).toContain('has no BatchNorm');
    expect(err.message).toContain('op:TYPE');
    expect(err.message).toContain('name:REGEX');
  });

  it('taps every node of an op type with op:TYPE', () => {
    const { taps } = compileScoringGraph(withoutTraces(folded, 'pytorch'), { taps: 'op:Conv' });
    expect(taps).toHaveLength(3);
    expect(taps.every((t) => t.opType === 'Conv' && t.channelAxis === 1)).toBe(true);
  });
});
