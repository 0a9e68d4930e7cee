/** ONNX load → save keeps what a model carries, and the compiled model loads in onnxruntime. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileScoringGraph } from '../../src/compile/compiler.js';
import { decodeModel, encodeModel, MAX_IR_VERSION } from '../../src/onnx/model-io.js';
import { readNpy } from '../helpers/npy.js';
import { runModel } from '../helpers/ort.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'parity', 'se_silu');

describe('ONNX model I/O', () => {
  it('round-trips opsets, IR version, initializers, metadata and nodes', () => {
    const bytes = readFileSync(join(DIR, 'model.folded.onnx'));
    const model = decodeModel(bytes);
    const again = decodeModel(encodeModel(model));
    expect(again.irVersion).toBe(model.irVersion);
    expect(again.opsets).toEqual(model.opsets);
    expect(again.extra.producerName).toBe(model.extra.producerName);
    expect(again.graph.nodes).toEqual(model.graph.nodes);
    expect([...again.graph.initializers.keys()]).toEqual([...model.graph.initializers.keys()]);
    for (const [name, t] of model.graph.initializers) {
      expect(Array.from(again.graph.initializers.get(name)!.toNumbers())).toEqual(Array.from(t.toNumbers()));
    }
    expect(again.graph.inputs).toEqual(model.graph.inputs);
  });

  it('writes an unedited model back byte for byte (the official schema encodes as the ONNX library does)', () => {
    for (const file of [join(DIR, 'model.onnx'), join(DIR, 'model.folded.onnx'), join(import.meta.dirname, '..', '..', 'models', 'fmnist-resnet18', 'model.onnx')]) {
      const bytes = readFileSync(file);
      expect(Buffer.from(encodeModel(decodeModel(bytes))).equals(bytes)).toBe(true);
    }
  });

  it('writes compiled models onnxruntime-node loads, with the model IR version and opset kept', async () => {
    const model = decodeModel(readFileSync(join(DIR, 'model.onnx')));
    const compiled = compileScoringGraph(model).model;
    const bytes = encodeModel(compiled);
    const back = decodeModel(bytes);
    expect(back.irVersion).toBe(model.irVersion);
    expect(back.irVersion).toBeLessThanOrEqual(MAX_IR_VERSION);
    expect(back.opsets).toEqual(model.opsets);
    expect((back.extra.metadataProps as Array<{ key: string }>).map((p) => p.key)).toContain('gaia.heads');
    const out = await runModel(bytes, readNpy(join(DIR, 'input.npy')));
    expect(Object.keys(out).sort()).toEqual(['energy', 'gaia_z', 'logits', 'msp']);
  });
});
