/**
 * Which kept scoring graph serves which request: `init` compiles the heads an agent with
 * evidence on asks for (the per-tap ratios and the saliency map besides the judging heads);
 * an agent with evidence off (the images' default) must still load that graph, even from a
 * read-only mount, while a graph missing a wanted head, or holding an expensive one nobody
 * asked for, is compiled anew.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { HeadName } from '../../src/compile/heads.js';
import { loadModelPackage } from '../../src/model/manifest.js';
import { cachedGraph, compileRequest, keepGraph } from '../../src/model/scoring-cache.js';
import { loadModel } from '../../src/onnx/model-io.js';
import type { CompileResult } from '../../src/compile/index.js';

describe('a kept scoring graph and the heads an agent asks for', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gaia-kept-heads-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const pkg = await loadModelPackage('models/fmnist-cnn');
  const model = await loadModel(pkg.modelPath);
  const request = (heads: HeadName[]) => compileRequest(model, pkg.manifest, { taps: 'bn', heads, gaiaZMode: 'pattern', headSettings: {} });
  const judging: HeadName[] = ['logits', 'gaia_z', 'msp', 'energy'];
  const compiled = { taps: [], notes: [], gaiaZMode: 'pattern', numClasses: 10 } as unknown as CompileResult;
  await keepGraph(dir, request([...judging, 'gaia_z_ratios', 'saliency']), compiled, new Uint8Array([1, 2, 3]));

  it('serves a request without the evidence heads', async () => {
    expect(await cachedGraph(dir, request(judging))).toHaveProperty('bytes');
    expect(await cachedGraph(dir, request([...judging, 'gaia_z_ratios']))).toHaveProperty('bytes');
  });

  it('does not serve a request for a head it lacks, naming both head lists', async () => {
    const r = await cachedGraph(dir, request([...judging, 'gaia_a']));
    expect(r).toHaveProperty('why');
    expect((r as { why: string }).why).toMatch(/other the heads \(it has .*saliency.*; wanted .*gaia_a/);
  });

  it('is not used when it holds an expensive head nobody asked for', async () => {
    const other = mkdtempSync(join(tmpdir(), 'gaia-kept-heads-'));
    try {
      await keepGraph(other, request([...judging, 'gaia_a']), compiled, new Uint8Array([4]));
      expect(await cachedGraph(other, request(judging))).toHaveProperty('why');
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
