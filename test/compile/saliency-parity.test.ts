/**
 * The saliency head against its PyTorch reference (tools/reference/saliency_reference.py,
 * fixtures of make_saliency_fixtures.py) on the seven parity architectures, both exports:
 * the class activation map the compiler picks for them (each ends in global average pooling
 * and a linear layer), and LayerCAM at the last tap when asked for it. Every map is the
 * same alone as in a batch, lies in [0, 1] with a maximum of 1, and the compile notes say
 * which map was built. A classifier without a pooled linear head gets LayerCAM, saying why;
 * asking for CAM there fails, naming the node.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileScoringGraph } from '../../src/compile/compiler.js';
import { METHOD_HEADS } from '../../src/compile/heads.js';
import type { SaliencyMethod } from '../../src/compile/heads/saliency.js';
import { ErrorCodes } from '../../src/errors.js';
import { loadModel } from '../../src/onnx/model-io.js';
import { readNpy } from '../helpers/npy.js';
import { runModel } from '../helpers/ort.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'parity');
const ARCHS = ['plain_cnn', 'resnet_basic', 'resnet_bottleneck', 'mobilenetv2', 'se_silu', 'densenet', 'op_zoo'];
const TOLERANCE = 1e-5;

/** Per frame: max |a − b| over the frame's map, relative to the reference map's largest value (1 after normalising). */
function worstFrameError(a: Float32Array, b: Float32Array, frames: number): number {
  const per = b.length / frames;
  let worst = 0;
  for (let f = 0; f < frames; f++) {
    let diff = 0;
    let scale = 0;
    for (let i = f * per; i < (f + 1) * per; i++) {
      diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
      scale = Math.max(scale, Math.abs(b[i]!));
    }
    worst = Math.max(worst, diff / Math.max(scale, 1e-30));
  }
  return worst;
}

async function saliencyOf(file: string, method: SaliencyMethod, input: { data: Float32Array; shape: number[] }) {
  const compiled = compileScoringGraph(await loadModel(file), { heads: ['logits', 'saliency'], headSettings: { saliency: method } });
  const out = await runModel(compiled.model, input);
  return { compiled, map: out.saliency!, logits: out.logits! };
}

for (const arch of ARCHS) {
  const dir = join(FIXTURES, arch);
  const input = readNpy(join(dir, 'input.npy'));
  const frames = input.shape[0]!;
  for (const file of ['model.onnx', 'model.folded.onnx']) {
    describe(`${arch} (${file})`, () => {
      for (const [method, reference, expectedMethod] of [
        ['auto', 'cam', 'class activation map (CAM)'],
        ['layercam', 'layercam', 'LayerCAM at the last tap'],
      ] as const) {
        it(`saliency "${method}" equals the PyTorch ${reference} (≤ ${TOLERANCE} of each frame's maximum), alone as in a batch`, async () => {
          const ref = readNpy(join(dir, 'saliency', `${reference}.npy`));
          const { compiled, map } = await saliencyOf(join(dir, file), method, input);
          expect(compiled.notes.filter((n) => n.startsWith('saliency:'))).toEqual([expect.stringContaining(expectedMethod)]);
          expect(map.dims).toEqual(ref.shape);
          const error = worstFrameError(map.data, ref.data, frames);
          console.log(`saliency parity ${arch} ${file} ${reference}: worst frame error ${error.toExponential(2)}`);
          expect(error).toBeLessThanOrEqual(TOLERANCE);
          const per = map.data.length / frames;
          for (let f = 0; f < frames; f++) {
            const frame = map.data.subarray(f * per, (f + 1) * per);
            expect(Math.min(...frame)).toBeGreaterThanOrEqual(0);
            expect(Math.max(...frame)).toBeCloseTo(1, 6);
          }
          const [, ...rest] = input.shape;
          const inputPer = input.data.length / frames;
          for (let f = 0; f < frames; f++) {
            const alone = await runModel(compiled.model, { data: input.data.slice(f * inputPer, (f + 1) * inputPer), shape: [1, ...rest] });
            const batched = map.data.subarray(f * per, (f + 1) * per);
            for (let i = 0; i < per; i++) expect(Math.abs(alone.saliency!.data[i]! - batched[i]!), `frame ${f} position ${i}`).toBeLessThanOrEqual(1e-6);
          }
        });
      }
    });
  }
}

describe('saliency on a classifier without a pooled linear head (MobileNetV3: Linear → HardSwish → Linear)', () => {
  const model = join(import.meta.dirname, '..', 'fixtures', 'zoo', 'mobilenet_v3_small_w025', 'torchscript', 'model.onnx');

  it('is LayerCAM at the last tap, the note saying why not CAM', async () => {
    const input = { data: Float32Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.37)), shape: [2, 3, 32, 32] };
    const { compiled, map } = await saliencyOf(model, 'auto', input);
    expect(compiled.notes).toContainEqual(expect.stringMatching(/^saliency: LayerCAM at the last tap .* \(no CAM: expected a global pool before the linear layer, found HardSwish/));
    expect(map.dims[0]).toBe(2);
  });

  it('refuses CAM when asked for it, naming the node', async () => {
    await expect(async () => compileScoringGraph(await loadModel(model), { heads: ['saliency'], headSettings: { saliency: 'cam' } })).rejects.toMatchObject({
      code: ErrorCodes.BAD_HEAD,
      message: expect.stringMatching(/CAM needs .*HardSwish node .*use the saliency method "layercam" or "auto"/),
    });
  });
});

it('saliency is no score: eval and calibration never list it', () => {
  expect(METHOD_HEADS).not.toContain('saliency');
});
