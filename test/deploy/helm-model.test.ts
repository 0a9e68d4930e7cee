/**
 * The Helm chart with your own model package from a volume (model.volume; docs/DEPLOY.md,
 * "Your model in the chart"): rendered by helm and decoded strictly into the official API
 * types by tools/k8s-validate, as the chart's own test does, for the chart's choice (a
 * PersistentVolumeClaim) and for an image volume; the package mounted read-only where
 * GAIA_MODEL_DIR points, its calibration from the package or from the ConfigMap as before,
 * the bundled example still the default, and a volume with two sources refused.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { helmTemplate, tool, type Obj } from '../helpers/helm.js';

const ROOT = join(import.meta.dirname, '..', '..');
const PVC = ['model.volume.persistentVolumeClaim.claimName=my-camera-model', 'model.volume.persistentVolumeClaim.readOnly=true'];
const IMAGE = ['model.volume.image.reference=registry.example/my-camera-model:1', 'model.volume.image.pullPolicy=IfNotPresent'];

function pod(set: string[]) {
  const r = helmTemplate(set);
  expect(r.code, r.err).toBe(0);
  const v = tool('k8s-validate', [], r.text);
  expect(v.code, v.err).toBe(0);
  const spec = r.objects.find((o: Obj) => o.kind === 'StatefulSet')!.spec.template.spec;
  const c = spec.containers[0];
  const env = Object.fromEntries((c.env as Array<{ name: string; value?: string }>).map((e) => [e.name, e.value]));
  const mount = (c.volumeMounts as Array<{ name: string; mountPath: string; readOnly?: boolean }>).find((m) => m.name === 'model');
  const volume = (spec.volumes as Array<Record<string, unknown> & { name: string }>).find((x) => x.name === 'model');
  return { env, mount, volume };
}

describe('the chart with your model package from a volume', () => {
  it('the chart\'s choice, a PersistentVolumeClaim: mounted read-only where GAIA_MODEL_DIR points, the calibration the package\'s own', () => {
    const { env, mount, volume } = pod(PVC);
    expect(volume).toEqual({ name: 'model', persistentVolumeClaim: { claimName: 'my-camera-model', readOnly: true } });
    expect(mount).toEqual({ name: 'model', mountPath: '/models/yours', readOnly: true });
    expect(env.GAIA_MODEL_DIR).toBe('/models/yours');
    // No GAIA_CALIBRATION: the agent reads <model dir>/calibration.json, what calibrate writes.
    expect(env.GAIA_CALIBRATION).toBeUndefined();
    expect(() => loadConfig({ env: { ...env, GAIA_KAFKA_CLIENT_ID: 'gaia-0', GAIA_KAFKA_TRANSACTIONAL_ID: 'gaia-sentinel-gaia-0' } })).not.toThrow();
  });

  it('a package in a folder of the volume (model.subPath), with the calibration from its ConfigMap as before', () => {
    const { env, mount } = pod([...PVC, 'model.subPath=cameras/dock', 'calibration.configMap=gaia-calibration']);
    expect(mount!.mountPath).toBe('/models/yours');
    expect(env.GAIA_MODEL_DIR).toBe('/models/yours/cameras/dock');
    expect(env.GAIA_CALIBRATION).toBe('/etc/gaia/calibration/calibration.json');
  });

  it('an image volume (Kubernetes 1.31+) renders into the official types the same way', () => {
    const { env, volume } = pod(IMAGE);
    expect(volume).toEqual({ name: 'model', image: { reference: 'registry.example/my-camera-model:1', pullPolicy: 'IfNotPresent' } });
    expect(env.GAIA_MODEL_DIR).toBe('/models/yours');
  });

  it('without model.volume the bundled example in the image stays the default, with no model volume', () => {
    const { env, mount, volume } = pod([]);
    expect(env.GAIA_MODEL_DIR).toBe('models/fmnist-cnn');
    expect(mount).toBeUndefined();
    expect(volume).toBeUndefined();
    expect(() => loadConfig({ env: { GAIA_MODEL_DIR: join(ROOT, env.GAIA_MODEL_DIR!) } })).not.toThrow();
  });

  it('refuses a volume with two sources, or a relative mount path, naming the value', () => {
    const two = helmTemplate([...PVC, 'model.volume.emptyDir.medium=Memory']);
    expect(two.code).not.toBe(0);
    expect(two.err).toContain('model.volume must hold exactly one volume source');
    const relative = helmTemplate([...PVC, 'model.mountPath=models/yours']);
    expect(relative.code).not.toBe(0);
    expect(relative.err).toContain('model.mountPath must be an absolute path');
  });
});
