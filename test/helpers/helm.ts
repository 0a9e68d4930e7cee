/**
 * helm and tools/k8s-validate, as the chart tests run them (test/deploy/deploy-helm.test.ts,
 * test/deploy/helm-model.test.ts): built from the Go module proxy into
 * ~/.cache/gaia-sentinel/tools/bin by scripts/build-k8s-tools.sh (GAIA_TOOLS_BIN elsewhere).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

const ROOT = join(import.meta.dirname, '..', '..');
export const CHART = 'deploy/helm/gaia-sentinel';
/** The cluster version helm renders for (a helm built with go install defaults to 1.20). */
export const KUBE_VERSION = '1.33.0';
const BIN = process.env.GAIA_TOOLS_BIN ?? join(homedir(), '.cache', 'gaia-sentinel', 'tools', 'bin');

export function tool(name: string, args: string[], input?: string) {
  const path = join(BIN, name);
  if (!existsSync(path)) throw new Error(`${path} is missing: build it with scripts/build-k8s-tools.sh (needs Go and the Go module proxy)`);
  const r = spawnSync(path, args, { cwd: ROOT, encoding: 'utf8', ...(input === undefined ? {} : { input }) });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

export type Obj = { kind: string; apiVersion: string; metadata: { name: string }; spec: Record<string, any> };

/** `helm template` of the chart with these --set values: its text, and its documents as objects (or helm's error). */
export function helmTemplate(set: string[] = []): { code: number | null; err: string; text: string; objects: Obj[] } {
  const r = tool('helm', ['template', 'gaia', CHART, '--kube-version', KUBE_VERSION, ...set.flatMap((s) => ['--set', s])]);
  const objects = r.code === 0 ? parseAllDocuments(r.out).map((d) => d.toJSON() as Obj).filter(Boolean) : [];
  return { code: r.code, err: r.err, text: r.out, objects };
}
