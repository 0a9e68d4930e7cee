/**
 * deploy/compose/your-model.yml, the override for your own model package, calibration and
 * frames, as `docker-compose config` (Debian's docker-compose, which .ci/run installs) merges it
 * over the stack: the agent gets the package read-only at GAIA_MODEL_DIR and its calibration
 * from inside it (re-read every 10 s), the producer replays your frames; the folders it names
 * are followed back to this machine and loaded the way the agent loads them. Without the
 * variables it refuses, naming them. Starting the stack needs its images: docs/DEPLOY.md.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_KEYS } from '../../src/config/keys.js';
import { loadConfig } from '../../src/config/load.js';
import { produceUsage } from '../../src/cli/produce.js';
import { loadModelPackage } from '../../src/model/manifest.js';

const ROOT = join(import.meta.dirname, '..', '..');
const FILES = ['-f', 'deploy/compose/docker-compose.yml', '-f', 'deploy/compose/your-model.yml'];
const work = mkdtempSync(join(tmpdir(), 'gaia-compose-model-'));
// A package of your own: the bundled one copied out, with its calibration inside as calibrate writes it.
const pkg = join(work, 'my-model');
cpSync(join(ROOT, 'models', 'fmnist-cnn'), pkg, { recursive: true });
copyFileSync(join(ROOT, 'calibration', 'fmnist-cnn.json'), join(pkg, 'calibration.json'));
copyFileSync(join(ROOT, 'calibration', 'fmnist-cnn.json'), join(pkg, 'calibration-2026-12.json'));
const frames = join(ROOT, 'models', 'fmnist-cnn', 'samples', 'ood');
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Service {
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
}

function config(env: Record<string, string>) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GAIA_')));
  const r = spawnSync('docker-compose', [...FILES, 'config'], { cwd: ROOT, encoding: 'utf8', env: { ...clean, ...env } });
  if (r.error) throw new Error(`docker-compose is not installed (${r.error.message}); on Debian: apt-get install -y docker-compose`);
  return { code: r.status, err: r.stderr, services: r.status === 0 ? (parse(r.stdout) as { services: Record<string, Service> }).services : {} };
}

/** The host path a container path of this service comes from (its bind mounts), and whether it is read-only. */
function hostPath(service: Service, path: string): { path: string; readOnly: boolean } {
  for (const v of service.volumes ?? []) {
    const [source, target, mode] = v.split(':') as [string, string, string | undefined];
    if (path === target || path.startsWith(`${target}/`)) return { path: source + path.slice(target.length), readOnly: mode === 'ro' };
  }
  throw new Error(`${path} is not mounted into the service (volumes: ${JSON.stringify(service.volumes)})`);
}

describe('deploy/compose/your-model.yml: your model, calibration and frames in the stack', () => {
  it('mounts your package read-only where GAIA_MODEL_DIR points, and the agent loads it and its calibration', async () => {
    const { code, err, services } = config({ GAIA_MODEL_PACKAGE: pkg, GAIA_FRAMES: frames });
    expect(code, err).toBe(0);
    const agent = services.agent!;
    const env = agent.environment!;
    expect(env).toMatchObject({ GAIA_MODEL_DIR: '/models/yours', GAIA_CALIBRATION: '/models/yours/calibration.json', GAIA_SOURCE: 'kafka' });
    const dir = hostPath(agent, env.GAIA_MODEL_DIR!);
    expect(dir).toEqual({ path: pkg, readOnly: true });
    const loaded = await loadModelPackage(dir.path);
    const calibration = JSON.parse(readFileSync(hostPath(agent, env.GAIA_CALIBRATION!).path, 'utf8')) as { model: string };
    expect(calibration.model).toBe(loaded.manifest.name);
    // Real settings, and a set the agent's loader accepts.
    const known = new Set(CONFIG_KEYS.flatMap((k) => (k.env ? [k.env] : [])));
    for (const key of Object.keys(env)) expect(known.has(key), key).toBe(true);
    const loadedConfig = loadConfig({ env: { ...env, GAIA_MODEL_DIR: dir.path } });
    expect(loadedConfig.calibration.watchIntervalMs).toBe(10_000);
    // The override adds to the stack: the bundled example is still what the stack alone runs.
    expect(env.GAIA_KAFKA_BROKERS).toBe('kafka:9092');
  });

  it('GAIA_MODEL_CALIBRATION picks another calibration file of the package', () => {
    const { code, err, services } = config({ GAIA_MODEL_PACKAGE: pkg, GAIA_FRAMES: frames, GAIA_MODEL_CALIBRATION: 'calibration-2026-12.json' });
    expect(code, err).toBe(0);
    const path = services.agent!.environment!.GAIA_CALIBRATION!;
    expect(path).toBe('/models/yours/calibration-2026-12.json');
    expect(existsSync(hostPath(services.agent!, path).path)).toBe(true);
  });

  it('the producer replays your frames, with flags produce accepts', () => {
    const { services } = config({ GAIA_MODEL_PACKAGE: pkg, GAIA_FRAMES: frames });
    const [command, folder, ...args] = services.producer!.command!;
    expect(command).toBe('produce');
    expect(hostPath(services.producer!, folder!)).toEqual({ path: frames, readOnly: true });
    for (const flag of args.filter((a) => a.startsWith('--'))) expect(produceUsage, flag).toContain(`${flag} `);
  });

  it('refuses to render without the package or the frames, naming the variable', () => {
    const noPackage = config({ GAIA_FRAMES: frames });
    expect(noPackage.code).not.toBe(0);
    expect(noPackage.err).toContain('set GAIA_MODEL_PACKAGE to your model package');
    const noFrames = config({ GAIA_MODEL_PACKAGE: pkg });
    expect(noFrames.code).not.toBe(0);
    expect(noFrames.err).toContain('set GAIA_FRAMES to a folder');
  });
});
