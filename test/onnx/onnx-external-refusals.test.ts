/**
 * Model files are untrusted input: every tensor's data is checked on load, before anything
 * is compiled or written. External data must be a regular file inside the model's folder
 * with exactly the bytes the dims need; inline data must match the dims too.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, GaiaError } from '../../src/errors.js';
import { decodeModel, loadModel } from '../../src/onnx/model-io.js';
import { craftModel, externalTensor, type Placement } from '../helpers/onnx-craft.js';

let root: string;
let dir: string;
let n = 0;
const DATA = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'gaia-extdata-'));
  writeFileSync(join(root, 'outside.bin'), DATA);
  mkdirSync(join(root, 'elsewhere'));
  writeFileSync(join(root, 'elsewhere', 'w.bin'), DATA);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A fresh model folder holding w.bin (16 bytes: a [2,2] float tensor). */
function folder(): string {
  dir = join(root, `m${n++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'w.bin'), DATA);
  return dir;
}

async function loadCrafted(tensor: Record<string, unknown>, placement: Placement = 'initializer'): Promise<GaiaError | undefined> {
  const d = folder();
  writeFileSync(join(d, 'model.onnx'), craftModel(tensor, placement));
  try {
    await loadModel(join(d, 'model.onnx'));
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(GaiaError);
    return err as GaiaError;
  }
}

const ext = (entries: Record<string, string>, dims = [2, 2]) => externalTensor('W', dims, entries);

describe('external data: accepted', () => {
  it('reads a tensor by offset and length, relative to the model folder', async () => {
    const d = folder();
    writeFileSync(join(d, 'packed.bin'), new Uint8Array([9, 9, 9, 9, ...DATA]));
    writeFileSync(join(d, 'model.onnx'), craftModel(ext({ location: 'packed.bin', offset: '4', length: '16' })));
    const model = await loadModel(join(d, 'model.onnx'));
    expect(Array.from(model.graph.initializers.get('W')!.toNumbers())).toEqual([1, 2, 3, 4]);
  });

  it('reads to the end of the file without a length, checks a matching SHA-1, and follows links that stay inside', async () => {
    const d = folder();
    mkdirSync(join(d, 'weights'));
    symlinkSync(join(d, 'w.bin'), join(d, 'weights', 'link.bin'));
    const sha1 = createHash('sha1').update(DATA).digest('hex');
    writeFileSync(join(d, 'model.onnx'), craftModel(ext({ location: 'weights/link.bin', checksum: sha1 })));
    const model = await loadModel(join(d, 'model.onnx'));
    expect(Array.from(model.graph.initializers.get('W')!.toNumbers())).toEqual([1, 2, 3, 4]);
  });

  it('reads a range at the end of a 3 GB file without reading the file whole', async () => {
    const d = folder();
    const big = join(d, 'big.bin');
    const offset = 3 * 2 ** 30;
    truncateSync((closeSync(openSync(big, 'w')), big), offset + 16); // sparse: takes no disk
    const fd = openSync(big, 'r+');
    writeSync(fd, DATA, 0, 16, offset);
    closeSync(fd);
    writeFileSync(join(d, 'model.onnx'), craftModel(ext({ location: 'big.bin', offset: String(offset), length: '16' })));
    const before = process.memoryUsage().rss;
    const model = await loadModel(join(d, 'model.onnx'));
    expect(Array.from(model.graph.initializers.get('W')!.toNumbers())).toEqual([1, 2, 3, 4]);
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 2 ** 20);
  });
});

describe('external data: refused', () => {
  const cases: Array<[string, Record<string, string>, string, RegExp]> = [
    ['an absolute location', { location: join(root ?? '/tmp', 'outside.bin') }, ErrorCodes.EXTERNAL_DATA_PATH, /absolute/],
    ['/etc/passwd', { location: '/etc/passwd' }, ErrorCodes.EXTERNAL_DATA_PATH, /absolute/],
    ['a Windows drive path', { location: 'C:\\weights.bin' }, ErrorCodes.EXTERNAL_DATA_PATH, /absolute/],
    ['a .. component', { location: '../outside.bin' }, ErrorCodes.EXTERNAL_DATA_PATH, /".."/],
    ['a .. in the middle', { location: 'sub/../../outside.bin' }, ErrorCodes.EXTERNAL_DATA_PATH, /".."/],
    ['a backslash ..', { location: '..\\outside.bin' }, ErrorCodes.EXTERNAL_DATA_PATH, /".."/],
    ['a missing file', { location: 'nope.bin' }, ErrorCodes.EXTERNAL_DATA_PATH, /cannot be opened/],
    ['an empty location', { location: '' }, ErrorCodes.EXTERNAL_DATA_PATH, /no valid "location"/],
    ['a length that does not match the dims', { location: 'w.bin', length: '8' }, ErrorCodes.EXTERNAL_DATA_SIZE, /need|needs|16 bytes/],
    ['a range past the end of the file', { location: 'w.bin', offset: '8', length: '16' }, ErrorCodes.EXTERNAL_DATA_SIZE, /holds only 16/],
    ['no length and a remainder that does not match', { location: 'w.bin', offset: '4' }, ErrorCodes.EXTERNAL_DATA_SIZE, /to the end/],
    ['a negative offset', { location: 'w.bin', offset: '-4', length: '16' }, ErrorCodes.EXTERNAL_DATA_SIZE, /byte count/],
    ['a wrong checksum', { location: 'w.bin', checksum: '0'.repeat(40) }, ErrorCodes.EXTERNAL_DATA_CHECKSUM, /SHA-1/],
  ];
  for (const [what, entries, code, message] of cases) {
    it(`refuses ${what} with ${code}`, async () => {
      const err = await loadCrafted(ext(entries));
      expect(err?.code).toBe(code);
      expect(err?.message).toMatch(message);
      expect(err?.message).toContain('initializer "W"');
    });
  }

  it('refuses a link inside the folder that resolves outside it', async () => {
    const d = folder();
    symlinkSync(join(root, 'outside.bin'), join(d, 'link.bin'));
    symlinkSync(join(root, 'elsewhere'), join(d, 'linkdir'));
    for (const location of ['link.bin', 'linkdir/w.bin']) {
      writeFileSync(join(d, 'model.onnx'), craftModel(ext({ location })));
      const err = (await loadModel(join(d, 'model.onnx')).catch((e: unknown) => e)) as GaiaError;
      expect(err.code).toBe(ErrorCodes.EXTERNAL_DATA_PATH);
      expect(err.message).toMatch(/outside the model's folder/);
    }
  });

  it('refuses a location that is a folder', async () => {
    const d = folder();
    mkdirSync(join(d, 'sub'));
    writeFileSync(join(d, 'model.onnx'), craftModel(ext({ location: 'sub' })));
    const err = (await loadModel(join(d, 'model.onnx')).catch((e: unknown) => e)) as GaiaError;
    expect(err.code).toBe(ErrorCodes.EXTERNAL_DATA_PATH);
  });

  const placements: Array<[Placement, string]> = [
    ['sparse-values', 'sparse_initializer "W" (values)'],
    ['sparse-indices', '(indices)'],
    ['constant', 'attribute "value" of Constant node "const_w"'],
  ];
  for (const [placement, where] of placements) {
    it(`checks ${placement} tensors the same way`, async () => {
      const escaping = placement === 'sparse-indices'
        ? { ...externalTensor('W_idx', [1], { location: '../../etc/passwd' }), dataType: 7 }
        : ext({ location: '../../etc/passwd' }, placement === 'constant' ? [2, 2] : [1]);
      const err = await loadCrafted(escaping, placement);
      expect(err?.code).toBe(ErrorCodes.EXTERNAL_DATA_PATH);
      expect(err?.message).toContain(where);
      const short = placement === 'sparse-indices'
        ? { ...externalTensor('W_idx', [1], { location: 'w.bin', length: '16' }), dataType: 7 }
        : ext({ location: 'w.bin', length: '16' }, [8]);
      expect((await loadCrafted(short, placement))?.code).toBe(ErrorCodes.EXTERNAL_DATA_SIZE);
    });
  }

  it('refuses external data when the model comes as bytes, with no folder to read from', () => {
    let err: unknown;
    try {
      decodeModel(craftModel(ext({ location: 'w.bin' })));
    } catch (e) {
      err = e;
    }
    expect((err as GaiaError).code).toBe(ErrorCodes.EXTERNAL_DATA_PATH);
    expect((err as GaiaError).message).toMatch(/given as bytes/);
  });
});

describe('inline data must match the dims', () => {
  const decodeErr = (tensor: Record<string, unknown>, placement: Placement = 'initializer'): GaiaError => {
    try {
      decodeModel(craftModel(tensor, placement));
    } catch (e) {
      return e as GaiaError;
    }
    throw new Error('expected an error');
  };

  it('refuses a declared 4e9-element tensor with 64 bytes of raw data, naming it', () => {
    const err = decodeErr({ name: 'huge', dims: [4_000_000_000], dataType: 1, rawData: new Uint8Array(64) });
    expect(err.code).toBe(ErrorCodes.TENSOR_SIZE);
    expect(err.message).toContain('initializer "huge"');
    expect(err.message).toContain('16000000000 bytes');
    expect(err.message).toContain('holds 64');
  });

  it('refuses typed fields with too few or too many entries', () => {
    expect(decodeErr({ name: 'W', dims: [2, 2], dataType: 1, floatData: [1, 2, 3] }).code).toBe(ErrorCodes.TENSOR_SIZE);
    expect(decodeErr({ name: 'W', dims: [2, 2], dataType: 7, int64Data: [1, 2, 3, 4, 5] }).code).toBe(ErrorCodes.TENSOR_SIZE);
    expect(decodeErr({ name: 'W', dims: [2, 2], dataType: 1 }).message).toMatch(/floatData entries, but it holds 0/);
  });

  it('checks sparse values and Constant tensors too', () => {
    expect(decodeErr({ name: 'W', dims: [3], dataType: 1, floatData: [1] }, 'sparse-values').message).toContain('sparse_initializer "W" (values)');
    expect(decodeErr({ name: 'W', dims: [2, 2], dataType: 1, rawData: new Uint8Array(4) }, 'constant').message).toContain('Constant node "const_w"');
  });

  it('refuses sparse tensors whose values and indices do not fit together', () => {
    const indices = (dims: number[], n: number) => ({ name: 'W_idx', dims, dataType: 7, int64Data: Array(n).fill(0) });
    const sparse = (values: Record<string, unknown>, idx: Record<string, unknown>) => craftModel(values, 'sparse-values', idx);
    const values = { name: 'W', dims: [2], dataType: 1, floatData: [1, 2] };
    expect(() => decodeModel(sparse(values, indices([2], 2)))).not.toThrow();
    expect(() => decodeModel(sparse(values, indices([2, 2], 4)))).not.toThrow();
    for (const idx of [indices([3], 3), indices([2, 3], 6), { ...indices([2], 0), dataType: 6, int32Data: [0, 1] }]) {
      const err = (() => { try { decodeModel(sparse(values, idx)); } catch (e) { return e as GaiaError; } })();
      expect(err?.code).toBe(ErrorCodes.TENSOR_SIZE);
      expect(err?.message).toContain('sparse_initializer "W"');
    }
  });

  it('accepts matching data, empty tensors and sub-byte packing', () => {
    expect(() => decodeModel(craftModel({ name: 'W', dims: [2, 2], dataType: 1, rawData: DATA }))).not.toThrow();
    expect(() => decodeModel(craftModel({ name: 'W', dims: [0, 2], dataType: 1 }))).not.toThrow();
    expect(() => decodeModel(craftModel({ name: 'W', dims: [3], dataType: 22, rawData: new Uint8Array(2) }))).not.toThrow();
  });
});
