/**
 * A package's compiled scoring graph is reused only for the request it was compiled for: a
 * saliency map forced to one method is part of that request, the default ("auto") is not,
 * so the graphs packages keep from before the saliency head stay valid.
 */
import { describe, expect, it } from 'vitest';
import { loadModelPackage } from '../../src/model/manifest.js';
import { compileRequest } from '../../src/model/scoring-cache.js';
import { loadModel } from '../../src/onnx/model-io.js';

describe('the compiled-graph cache key and the saliency method', () => {
  it('differs for a forced method, not for the default', async () => {
    const pkg = await loadModelPackage('models/fmnist-cnn');
    const model = await loadModel(pkg.modelPath);
    const request = (saliency?: 'auto' | 'cam' | 'layercam') =>
      compileRequest(model, pkg.manifest, { taps: 'bn', heads: ['logits', 'saliency'], gaiaZMode: 'pattern', headSettings: saliency ? { saliency } : {} });
    expect(request('auto')).toEqual(request());
    expect(request('layercam').settings).not.toBe(request().settings);
    expect(request('cam').settings).not.toBe(request('layercam').settings);
  });
});
