/**
 * The source tree keeps the shape issue #10 asks for: no import cycles (type-only imports
 * included), no stream module imports the pipeline to learn its own interface (the
 * contracts live in stream/contracts.ts), and `run` is a thin command over src/agent/.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const graph = new Map(
  files(SRC).map((f) => {
    const text = readFileSync(f, 'utf8');
    const deps = [...text.matchAll(/^(?:import|export)[^;]*?from '(\.[^']+)'/gms)].map((m) => normalize(join(dirname(f), m[1]!.replace(/\.js$/, '.ts'))));
    return [f, deps] as const;
  }),
);

it('has no import cycles in src/', () => {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === 'open') cycles.push([...stack.slice(stack.indexOf(d)), d].map((x) => relative(SRC, x)).join(' → '));
      else if (!state.has(d) && graph.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  expect(cycles).toEqual([]);
});

it('has no stream module importing the pipeline', () => {
  const offenders = [...graph].filter(([f, deps]) => f.includes(`${join('src', 'stream')}`) && deps.some((d) => d.endsWith(join('stream', 'pipeline.ts')))).map(([f]) => relative(SRC, f));
  expect(offenders).toEqual([]);
});

it('keeps cli/run.ts a thin command over the agent', () => {
  const run = join(SRC, 'cli', 'run.ts');
  expect(readFileSync(run, 'utf8').split('\n').length).toBeLessThan(100);
  expect(graph.get(run)!.map((d) => relative(SRC, d)).sort()).toEqual(['agent/agent.ts', 'cli/io.ts', 'config/load.ts', 'errors.ts', 'telemetry/logger.ts']);
  expect(readFileSync(run, 'utf8')).not.toContain('process.exit');
});
