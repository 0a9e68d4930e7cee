/**
 * The Docker engine for the container test (test/deploy/image.test.ts): whether one answers,
 * and the docker CLI as a promise. The engine is the machine's (`.ci/run` starts one with
 * scripts/image/engine.sh when none runs); nothing here starts or stops it.
 */
import { execFile, spawnSync } from 'node:child_process';

export interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Why no container can run here, or undefined when the engine answers. */
export function engineMissing(): string | undefined {
  const r = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 20_000 });
  if (r.error) return `the docker CLI cannot be run (${r.error.message}); .ci/run installs docker.io and starts dockerd`;
  if (r.status !== 0) return `no Docker engine answers (docker info: ${(r.stderr || r.stdout).trim().split('\n').pop()}); start one with scripts/image/engine.sh start, as .ci/run does`;
  return undefined;
}

/** `docker ...args`, resolving with its exit code and output (never rejecting on a non-zero exit). */
export function docker(args: readonly string[], timeoutMs = 120_000): Promise<Ran> {
  return new Promise((resolve) => {
    execFile('docker', args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** `docker ...args` that must succeed: its stdout, trimmed. */
export async function dockerOk(args: readonly string[], timeoutMs?: number): Promise<string> {
  const r = await docker(args, timeoutMs);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}: ${r.stderr.slice(-2000)}`);
  return r.stdout.trim();
}

/** One field of `docker inspect` (a Go template such as `{{.State.Health.Status}}`). */
export const inspect = (container: string, template: string) => dockerOk(['inspect', '--format', template, container]);
