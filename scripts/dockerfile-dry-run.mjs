#!/usr/bin/env node
// Runs a Dockerfile target's build steps without a Docker engine, in fresh folders: each
// stage is a folder, COPY copies from the build context (minus .dockerignore's top-level
// entries) or from an earlier stage's folder, RUN runs in the stage's WORKDIR with its ENV,
// and FROM an image starts from an empty folder (the image's own files, such as node or the
// CUDA libraries, are this machine's). It checks what can be checked here: that every COPY
// source exists, every RUN succeeds, and the final stage's files run as its ENTRYPOINT.
//
//   node scripts/dockerfile-dry-run.mjs [--target cpu] [--keep] [--out DIR]
//
// Prints the final stage's folder (the image's /app) and its ENTRYPOINT/CMD/HEALTHCHECK as
// JSON on the last line, for a caller (test/deploy/image-build.test.ts) to run.
import { execSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { target: { type: 'string', default: 'cpu' }, out: { type: 'string' }, file: { type: 'string', default: 'Dockerfile' } } });
const context = process.cwd();
const lines = readFileSync(values.file, 'utf8')
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const ignored = new Set(
  existsSync('.dockerignore')
    ? readFileSync('.dockerignore', 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#') && !l.includes('*'))
    : [],
);

// Stages in order: name → { from, steps }.
const args = {};
const stages = [];
for (const line of lines) {
  const [word, ...rest] = line.split(/\s+/);
  const text = line.slice(word.length).trim();
  const op = word.toUpperCase();
  if (op === 'ARG' && stages.length === 0) {
    const [k, v = ''] = text.split('=');
    args[k] = v;
  } else if (op === 'FROM') {
    const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(text);
    stages.push({ from: expand(m[1], args), name: m[2] ?? `stage-${stages.length}`, steps: [] });
  } else stages.at(-1)?.steps.push({ op, text, rest });
}
const byName = new Map(stages.map((s) => [s.name, s]));
if (!byName.has(values.target)) fail(`no stage "${values.target}" in ${values.file} (stages: ${[...byName.keys()].join(', ')})`);

const root = values.out ? resolve(values.out) : mkdtempSync(join(tmpdir(), 'gaia-dockerfile-'));
mkdirSync(root, { recursive: true });
const built = new Map();

function expand(s, vars) {
  return s.replace(/\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)/g, (_, a, dflt, b) => vars[a ?? b] ?? dflt ?? '');
}
function fail(message) {
  console.error(`dockerfile-dry-run: ${message}`);
  process.exit(1);
}
/** An image path (/app/x) inside a stage folder. */
function inStage(stage, path, workdir) {
  const abs = path.startsWith('/') ? path : join(workdir, path);
  return join(root, stage, abs);
}

function build(name) {
  if (built.has(name)) return built.get(name);
  const stage = byName.get(name);
  const dir = join(root, name);
  let state = { workdir: '/', env: {}, user: 'root', entrypoint: [], cmd: [], healthcheck: [] };
  if (byName.has(stage.from)) {
    const base = build(stage.from);
    cpSync(join(root, stage.from), dir, { recursive: true, verbatimSymlinks: true });
    state = structuredClone(base);
  } else {
    mkdirSync(dir, { recursive: true });
    console.error(`== ${name}: FROM ${stage.from} (an empty folder here; the image's own files are this machine's)`);
  }
  const vars = { ...args };
  for (const { op, text } of stage.steps) {
    const t = expand(text, { ...vars, ...state.env });
    if (op === 'ARG') {
      const [k, v] = t.split('=');
      vars[k] ??= v ?? '';
    } else if (op === 'WORKDIR') {
      state.workdir = t.startsWith('/') ? t : join(state.workdir, t);
      mkdirSync(join(dir, state.workdir), { recursive: true });
    } else if (op === 'ENV') {
      for (const m of t.matchAll(/(\w+)=("[^"]*"|\S+)/g)) state.env[m[1]] = m[2].replace(/^"|"$/g, '');
    } else if (op === 'COPY') {
      const parts = t.split(/\s+/);
      const from = parts.find((p) => p.startsWith('--from='))?.slice(7);
      const paths = parts.filter((p) => !p.startsWith('--'));
      const dest = paths.pop();
      for (const src of paths) {
        let source;
        if (from) {
          if (!byName.has(from)) {
            console.error(`   COPY --from=${from} ${src}: from an image, not reproduced here (this machine's ${src} stands for it)`);
            continue;
          }
          build(from);
          source = inStage(from, src, '/');
        } else {
          if (ignored.has(src.split('/')[0])) fail(`COPY ${src}: excluded by .dockerignore, so the build context does not have it`);
          source = join(context, src);
        }
        if (!existsSync(source)) fail(`${name}: COPY ${src}: no such file in the ${from ? `stage ${from}` : 'build context'}`);
        const target = inStage(name, dest, state.workdir);
        const into = dest.endsWith('/') || paths.length > 1 || (existsSync(target) && statSync(target).isDirectory() && !statSync(source).isDirectory());
        const final = into ? join(target, basename(src)) : target;
        mkdirSync(into ? target : join(final, '..'), { recursive: true });
        cpSync(source, final, { recursive: true, verbatimSymlinks: true });
      }
    } else if (op === 'RUN') {
      console.error(`== ${name}: RUN ${t}`);
      try {
        execSync(t, { cwd: join(dir, state.workdir), stdio: ['ignore', 2, 2], env: { ...process.env, ...state.env }, shell: '/bin/sh' });
      } catch {
        fail(`${name}: RUN failed: ${t}`);
      }
    } else if (op === 'USER') state.user = t;
    else if (op === 'ENTRYPOINT') state.entrypoint = JSON.parse(t);
    else if (op === 'CMD') state.cmd = JSON.parse(t);
    else if (op === 'HEALTHCHECK') state.healthcheck = JSON.parse(t.slice(t.indexOf('CMD') + 3).trim());
  }
  built.set(name, state);
  return state;
}

const state = build(values.target);
console.log(JSON.stringify({ target: values.target, root, app: join(root, values.target, state.workdir), ...state }));
