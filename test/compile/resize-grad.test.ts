/**
 * Resize's backward pass multiplies by the transpose of each axis' interpolation matrix
 * (src/compile/rules/resample.ts). It is exact only if those matrices are the forward pass
 * onnxruntime computes: resizing the H·W one-hot images of a grid must give, image by image,
 * the columns of A_h ⊗ A_w. Checked for every mode and coordinate transformation.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { resizeMatrix } from '../../src/compile/rules/resample.js';
import { attr, type AttributeProtoLike, type Node } from '../../src/onnx/graph.js';
import { encodeObject } from '../../src/onnx/model-io.js';

const [H, W] = [5, 4];

interface Case {
  mode: string;
  transform: string;
  extra?: AttributeProtoLike[];
  scales?: [number, number];
  sizes?: [number, number];
}

const CASES: Case[] = [];
for (const transform of ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'half_pixel_symmetric']) {
  for (const target of [{ scales: [2, 2] as [number, number] }, { scales: [1.5, 0.75] as [number, number] }, { sizes: [7, 9] as [number, number] }, { sizes: [2, 3] as [number, number] }]) {
    CASES.push({ mode: 'linear', transform, ...target });
    CASES.push({ mode: 'cubic', transform, ...target });
    CASES.push({ mode: 'cubic', transform, ...target, extra: [attr.int('exclude_outside', 1), attr.float('cubic_coeff_a', -0.5)] });
    for (const rounding of ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil']) {
      CASES.push({ mode: 'nearest', transform, ...target, extra: [attr.string('nearest_mode', rounding)] });
    }
  }
}

function resizeNode(c: Case): Node {
  return {
    name: 'resize',
    opType: 'Resize',
    domain: '',
    inputs: ['x', '', c.scales ? 'scales' : '', c.sizes ? 'sizes' : ''],
    outputs: ['y'],
    attributes: [attr.string('mode', c.mode), attr.string('coordinate_transformation_mode', c.transform), ...(c.extra ?? [])],
  };
}

async function forwardColumns(c: Case, node: Node): Promise<{ data: Float32Array; out: [number, number] }> {
  const initializer = [
    ...(c.scales ? [{ name: 'scales', dims: [4], dataType: 1, floatData: [1, 1, ...c.scales] }] : []),
    ...(c.sizes ? [{ name: 'sizes', dims: [4], dataType: 7, int64Data: [H * W, 1, ...c.sizes] }] : []),
  ];
  const io = (name: string) => ({ name, type: { tensorType: { elemType: 1 } } });
  const bytes = encodeObject({
    irVersion: 10,
    opsetImport: [{ domain: '', version: 20 }],
    graph: {
      name: 'g',
      node: [{ name: node.name, opType: node.opType, input: [...node.inputs], output: [...node.outputs], attribute: [...node.attributes] }],
      initializer,
      input: [io('x')],
      output: [io('y')],
    },
  });
  const session = await ort.InferenceSession.create(bytes);
  try {
    const eye = new Float32Array(H * W * H * W);
    for (let k = 0; k < H * W; k++) eye[k * H * W + k] = 1;
    const { y } = await session.run({ x: new ort.Tensor('float32', eye, [H * W, 1, H, W]) });
    return { data: y!.data as Float32Array, out: [y!.dims[2]!, y!.dims[3]!] };
  } finally {
    await session.release();
  }
}

describe('Resize interpolation matrices equal onnxruntime’s forward pass', () => {
  it.each(CASES.map((c) => [`${c.mode} ${c.transform} ${c.scales ? `scales ${c.scales}` : `sizes ${c.sizes}`} ${(c.extra ?? []).map((a) => a.name).join(',')}`, c] as const))(
    '%s',
    async (_, c) => {
      const node = resizeNode(c);
      const { data, out } = await forwardColumns(c, node);
      const [oh, ow] = out;
      const scale = (i: 0 | 1, inLen: number, outLen: number) => (c.scales ? c.scales[i] : Math.fround(outLen / inLen));
      const ah = resizeMatrix(node, H, oh, scale(0, H, oh));
      const aw = resizeMatrix(node, W, ow, scale(1, W, ow));
      let worst = 0;
      for (let k = 0; k < H * W; k++) {
        const [ih, iw] = [Math.floor(k / W), k % W];
        for (let p = 0; p < oh; p++) {
          for (let q = 0; q < ow; q++) {
            const ours = ah[p * H + ih]! * aw[q * W + iw]!;
            worst = Math.max(worst, Math.abs(ours - data[k * oh * ow + p * ow + q]!));
          }
        }
      }
      expect(worst).toBeLessThanOrEqual(1e-6);
    },
  );
});
