/**
 * The GPU image's build-time guard (scripts/image/check-cuda-provider.sh, run by the gpu
 * target): ldd of onnxruntime-node's CUDA provider must find every library but libcuda.so.1
 * (the driver's). No CUDA provider can be fetched here (NuGet is unreachable), so the test
 * runs the guard on onnxruntime-node's own CPU binding, a real ELF object, copied under the
 * provider's name: as it is (it links libonnxruntime.so.1), and with that dependency's name
 * rewritten in the copy to libcudart.so.13 (a CUDA runtime the folder lacks) or to libcuda.so.1.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const ORT = join(ROOT, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64');
const GUARD = join(ROOT, 'scripts', 'image', 'check-cuda-provider.sh');
const PROVIDER = 'libonnxruntime_providers_cuda.so';
const work = mkdtempSync(join(tmpdir(), 'gaia-cuda-guard-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A folder holding the binding as the provider, its libonnxruntime.so.1 dependency renamed to `needs` (same length or shorter). */
function provider(name: string, needs?: string, withOrt = false): string {
  const dir = join(work, name);
  mkdirSync(dir);
  const bytes = readFileSync(join(ORT, 'onnxruntime_binding.node'));
  if (needs) {
    const from = Buffer.from('libonnxruntime.so.1\0');
    const to = Buffer.alloc(from.length);
    to.write(needs);
    let at = bytes.indexOf(from);
    expect(at).toBeGreaterThan(0);
    for (; at >= 0; at = bytes.indexOf(from, at + 1)) to.copy(bytes, at);
  }
  writeFileSync(join(dir, PROVIDER), bytes);
  if (withOrt) copyFileSync(join(ORT, 'libonnxruntime.so.1'), join(dir, 'libonnxruntime.so.1'));
  return dir;
}

const guard = (dir: string) => {
  const r = spawnSync('sh', [GUARD, dir], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
};

describe.skipIf(process.platform !== 'linux')('the GPU image\'s CUDA provider guard (ldd)', () => {
  it('fails when the provider links a CUDA runtime the image lacks, naming it', () => {
    const r = guard(provider('cuda13', 'libcudart.so.13'));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/libcudart\.so\.13 => not found/);
    expect(r.out).toContain('CUDA major version');
  });

  it('passes when only libcuda.so.1 is missing (the driver brings it at run time)', () => {
    const r = guard(provider('driver-only', 'libcuda.so.1'));
    expect(r.out).toContain('every library');
    expect(r.code).toBe(0);
  });

  it('passes when every library is found (its dependency beside it), fails without it', () => {
    expect(guard(provider('complete', undefined, true)).code).toBe(0);
    const lone = guard(provider('lone'));
    expect(lone.code).toBe(1);
    expect(lone.out).toMatch(/libonnxruntime\.so\.1 => not found/);
  });

  it('fails, saying what to do, when the install script fetched no provider', () => {
    const r = guard(work + '/nowhere');
    expect(r.code).toBe(1);
    expect(r.out).toContain('ONNXRUNTIME_NODE_INSTALL=1');
  });
});
