/**
 * The source tree keeps the shape of docs/ARCHITECTURE.md: the folders are the data flow,
 * and each room imports only what its place in that flow allows. No import cycles
 * (type-only imports included); the contracts a leaf every stage speaks; the runtime
 * onnxruntime only; judging free of Kafka, telemetry and CLI code; the agent the one room
 * that wires the stream to telemetry; kafkajs only behind stream/kafka/; the lower house
 * (onnx, compile, detect, runtime, frames) never reaching up. Files stay small (300 lines)
 * and so do functions in the upper house (80 lines in stream/, judging/, agent/).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import ts from 'typescript';
import { expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const texts = new Map(files(SRC).map((f) => [f, readFileSync(f, 'utf8')] as const));
const specifiers = (text: string) => [...text.matchAll(/^(?:import|export)[^;]*?from '([^']+)'/gms)].map((m) => m[1]!);
const graph = new Map([...texts].map(([f, text]) => [f, specifiers(text).filter((s) => s.startsWith('.')).map((s) => normalize(join(dirname(f), s.replace(/\.js$/, '.ts'))))] as const));
/** A file's room: its first folder under src/ (`stream/kafka` counts as `stream`); files at the top are `(root)`. */
const room = (f: string) => {
  const parts = relative(SRC, f).split(sep);
  return parts.length > 1 ? parts[0]! : '(root)';
};
const rel = (f: string) => relative(SRC, f).split(sep).join('/');
/** Imports of files in `from` rooms that land in `to` rooms, as "file → dependency". */
function crossings(from: (r: string) => boolean, to: (r: string, dep: string) => boolean): string[] {
  return [...graph].flatMap(([f, deps]) => (from(room(f)) ? deps.filter((d) => to(room(d), d)).map((d) => `${rel(f)} → ${rel(d)}`) : []));
}

it('has no import cycles in src/', () => {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === 'open') cycles.push([...stack.slice(stack.indexOf(d)), d].map(rel).join(' → '));
      else if (!state.has(d) && graph.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  expect(cycles).toEqual([]);
});

it('has no stream module importing the pipeline', () => {
  expect(crossings((r) => r === 'stream', (_, d) => d.endsWith(join('stream', 'pipeline.ts'))).filter((c) => !c.startsWith('stream/pipeline.ts'))).toEqual([]);
});

it('keeps cli/run.ts a thin command over the agent', () => {
  const run = join(SRC, 'cli', 'run.ts');
  expect(readFileSync(run, 'utf8').split('\n').length).toBeLessThan(100);
  expect(graph.get(run)!.map(rel).sort()).toEqual(['agent/agent.ts', 'cli/io.ts', 'config/load.ts', 'errors.ts', 'telemetry/logger.ts']);
  expect(readFileSync(run, 'utf8')).not.toContain('process.exit');
});

it('keeps the contracts a leaf: they import nothing but each other', () => {
  expect(crossings((r) => r === 'contracts', (r) => r !== 'contracts')).toEqual([]);
});

it('keeps the runtime onnxruntime only: no compiler, no model package', () => {
  expect(crossings((r) => r === 'runtime', (r) => r === 'compile' || r === 'model')).toEqual([]);
});

it('keeps judging free of Kafka, telemetry, CLI and agent code', () => {
  expect(crossings((r) => r === 'judging', (r) => ['stream', 'telemetry', 'cli', 'agent'].includes(r))).toEqual([]);
  const kafka = [...texts].filter(([f, text]) => room(f) === 'judging' && specifiers(text).includes('kafkajs')).map(([f]) => rel(f));
  expect(kafka).toEqual([]);
});

it('lets only the agent wire the stream to telemetry (and the commands, which are entry points like it)', () => {
  const both = [...new Set(graph.keys())].map(room).filter((r, i, all) => all.indexOf(r) === i).filter((r) => {
    const deps = [...graph].filter(([f]) => room(f) === r).flatMap(([, ds]) => ds.map(room));
    return deps.includes('stream') && deps.includes('telemetry');
  });
  expect(both.filter((r) => r !== 'cli')).toEqual(['agent']);
  // Nothing else reaches up into the agent (the composition root).
  expect(crossings((r) => r !== 'agent' && r !== 'cli', (r) => r === 'agent')).toEqual([]);
});

it('imports kafkajs only behind stream/kafka/', () => {
  const outside = [...texts].filter(([f, text]) => !rel(f).startsWith('stream/kafka/') && specifiers(text).includes('kafkajs')).map(([f]) => rel(f));
  expect(outside).toEqual([]);
});

it('never lets the lower house (onnx, compile, detect, runtime, frames) reach up into the stages above it', () => {
  const lower = ['onnx', 'compile', 'detect', 'runtime', 'frames'];
  const upper = ['model', 'calibration', 'judging', 'stream', 'telemetry', 'agent', 'cli', 'offline'];
  // Decoding follows the package's preprocessing settings: frames/ reads the manifest, nothing else of model/.
  const manifest = join(SRC, 'model', 'manifest.ts');
  expect(crossings((r) => lower.includes(r), (r, d) => upper.includes(r) && !(d === manifest))).toEqual([]);
});

it('has no file over 300 lines but onnx/shapes.ts (one switch over every op) and the generated protobuf code', () => {
  const exempt = new Set(['onnx/shapes.ts']);
  const long = [...texts].filter(([f, text]) => !exempt.has(rel(f)) && text.split('\n').length > 301).map(([f, text]) => `${rel(f)} ${text.split('\n').length - 1}`);
  expect(long).toEqual([]);
});

it('has no function over 80 lines in stream/, judging/ and agent/', () => {
  const long: string[] = [];
  for (const [f, text] of texts) {
    if (!['stream', 'judging', 'agent'].includes(room(f))) continue;
    const source = ts.createSourceFile(f, text, ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node) => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body) {
        const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
        const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
        if (end - start + 1 > 80) long.push(`${rel(f)}:${start + 1} ${end - start + 1} lines`);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  expect(long).toEqual([]);
});
