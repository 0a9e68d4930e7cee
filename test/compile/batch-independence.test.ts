/**
 * A sample's scores must not depend on what else is in its batch (eval-mode BN, one
 * backward pass for the whole batch): each sample scored alone equals its score in a batch.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileScoringGraph } from '../../src/compile/compiler.js';
import type { Model } from '../../src/onnx/graph.js';
import { loadModel } from '../../src/onnx/model-io.js';
import { readNpy } from '../helpers/npy.js';
import { runModel } from '../helpers/ort.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'parity');
const HEADS = ['logits', 'gaia_z', 'gaia_a', 'msp', 'energy', 'gaia_z_ratios'] as const;

for (const [arch, file] of [
  ['plain_cnn', 'model.folded.onnx'],
  ['resnet_basic', 'model.onnx'],
  ['mobilenetv2', 'model.folded.onnx'],
  ['densenet', 'model.folded.onnx'],
] as const) {
  describe(`batch independence: ${arch} (${file})`, () => {
    let model: Model;
    beforeAll(async () => {
      model = compileScoringGraph(await loadModel(join(FIXTURES, arch, file)), { heads: HEADS }).model;
    });

    it('gives every sample the same scores alone as in a batch (to 1e-6)', async () => {
      const input = readNpy(join(FIXTURES, arch, 'input.npy'));
      const [batch, ...rest] = input.shape as [number, ...number[]];
      const per = input.data.length / batch;
      const together = await runModel(model, input);
      for (let i = 0; i < batch; i++) {
        const alone = await runModel(model, { data: input.data.slice(i * per, (i + 1) * per), shape: [1, ...rest] });
        for (const head of HEADS) {
          const width = together[head]!.data.length / batch;
          const inBatch = together[head]!.data.subarray(i * width, (i + 1) * width);
          alone[head]!.data.forEach((v, j) => {
            expect(Math.abs(v - inBatch[j]!), `${head}[${i}][${j}]`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(v)));
          });
        }
      }
    });
  });
}
