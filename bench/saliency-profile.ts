/**
 * The saliency head's share of a scoring run from onnxruntime's own node profile: the kernel
 * time of the nodes that only the `saliency` output needs, against the kernel time of every
 * node. A shared machine's noise hits both alike, so the share stays readable where paired
 * totals cannot resolve a head this small (bench/saliency.ts --profile).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Graph } from '../src/onnx/graph.js';

/** Names of the nodes that `output` needs and no other graph output does. */
export function nodesOnlyFor(graph: Graph, output: string): Set<string> {
  const cone = (outputs: readonly string[]) => {
    const live = new Set(outputs);
    const names = new Set<string>();
    for (let k = graph.nodes.length - 1; k >= 0; k--) {
      const node = graph.nodes[k]!;
      if (!node.outputs.some((o) => o && live.has(o))) continue;
      names.add(node.name);
      for (const i of node.inputs) if (i) live.add(i);
    }
    return names;
  };
  const others = cone(graph.outputs.map((o) => o.name).filter((n) => n !== output));
  return new Set([...cone([output])].filter((n) => !others.has(n)));
}

export interface ProfileShare {
  /** Kernel µs per frame of the nodes only the head needs (median over runs). */
  readonly headUs: number;
  /** Kernel µs per frame of every node. */
  readonly allUs: number;
  /** The head's nodes' part of all kernel time (median over runs of each run's part). */
  readonly share: number;
  /** How many of the head's nodes the profile found (optimisations may fuse or rename some). */
  readonly found: number;
  readonly nodes: number;
}

/** Profiles `runs` runs of `bytes` at `batch` (two warm-up runs before them are left out). */
export async function profileShare(
  bytes: Uint8Array,
  head: ReadonlySet<string>,
  options: { threads: number; batch: number; shape: readonly number[]; runs: number; data: Float32Array },
): Promise<ProfileShare> {
  const dir = mkdtempSync(join(tmpdir(), 'gaia-saliency-profile-'));
  try {
    const session = await ort.InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      intraOpNumThreads: options.threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      enableProfiling: true,
      profileFilePrefix: join(dir, 'profile'),
    });
    const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', options.data, [options.batch, ...options.shape]) };
    const warmup = 2;
    for (let r = 0; r < warmup + options.runs; r++) await session.run(feeds);
    session.endProfiling();
    await session.release();
    const file = readdirSync(dir).find((f) => f.endsWith('.json'));
    if (!file) throw new Error(`onnxruntime wrote no profile into ${dir}`);
    const events = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Array<{ cat: string; name: string; dur: number }>;
    // A run's kernel events come before its model_run event. Per run: the head's and all
    // kernels' time; the medians over runs, so a kernel descheduled by other load in one run
    // does not decide the result.
    const runEnds = events.map((e, i) => (e.cat === 'Session' && e.name === 'model_run' ? i : -1)).filter((i) => i >= 0);
    if (runEnds.length !== warmup + options.runs) throw new Error(`the profile holds ${runEnds.length} runs, not ${warmup + options.runs}`);
    const name = (e: { name: string }) => e.name.slice(0, -'_kernel_time'.length);
    const found = new Set<string>();
    const perRun = runEnds.slice(warmup).map((end, r) => {
      const start = runEnds[warmup + r - 1]!;
      let headUs = 0;
      let allUs = 0;
      for (let i = start + 1; i < end; i++) {
        const e = events[i]!;
        if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
        allUs += e.dur;
        if (head.has(name(e))) {
          headUs += e.dur;
          found.add(name(e));
        }
      }
      return { headUs, allUs };
    });
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
    return {
      headUs: median(perRun.map((r) => r.headUs)) / options.batch,
      allUs: median(perRun.map((r) => r.allUs)) / options.batch,
      share: median(perRun.map((r) => r.headUs / r.allUs)),
      found: found.size,
      nodes: head.size,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
