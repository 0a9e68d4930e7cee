/**
 * Where a Node.js process's JavaScript thread spent its time: self time per package or
 * source folder from a V8 .cpuprofile (node --cpu-prof). Used on the agent during an
 * end-to-end run to see its CPU outside the scorer (docs/BENCHMARKS.md, issue #24):
 *
 *   GAIA_BENCH_AGENT_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/agentprof" node dist/bench/e2e-kafka.js --model bench/.cache/camera/mobilenet_v3_large --batches 8 --frames 400
 *   node dist/bench/cpuprofile-summary.js [--from-first-frame] /tmp/agentprof/*.cpuprofile
 *
 * Native work on other threads (libvips on libuv's pool, onnxruntime's intra-op threads)
 * is not in a JavaScript profile; a worker thread has its own file.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

// --from-first-frame: count only from the first sample in src/frames (the first frame
// decoded) on, so that startup (compiling or loading the scoring graph) does not dilute
// the steady state.
const { values, positionals } = parseArgs({ options: { 'from-first-frame': { type: 'boolean', default: false } }, allowPositionals: true });

interface ProfileNode { id: number; callFrame: { functionName: string; url: string }; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

/** The bucket a frame's time goes to: a package under node_modules, a src/ folder, node's own, or V8's pseudo-frames. */
function bucket(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : `(native) ${functionName || 'anonymous'}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const src = /\/dist\/src\/([^/]+)(?:\/([^/]+))?/.exec(url);
  if (src) return `src/${src[1]}${src[2] && !src[2].endsWith('.js') ? `/${src[2]}` : ''}`;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  return url;
}

for (const file of positionals) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  let counting = !values['from-first-frame'];
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    const key = bucket(byId.get(id)!.callFrame);
    counting ||= key === 'src/frames';
    if (!counting) return;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  const busy = total - (self.get('(idle)') ?? 0);
  console.log(`${file}: ${(total / 1e6).toFixed(1)} s profiled${values['from-first-frame'] ? ' from the first frame' : ''}, ${(busy / 1e6).toFixed(1)} s not idle`);
  console.log('| self time in | ms | % of not idle |\n|---|---:|---:|');
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
    if (k === '(idle)') continue;
    console.log(`| ${k} | ${(v / 1000).toFixed(0)} | ${((100 * v) / busy).toFixed(1)} |`);
  }
}
