/**
 * docs/RESULTS.md's development-suite tables from one `eval` report: FPR95 and AUROC of every
 * method (the single heads and the verdict rule) on every set, one row per set, grouped as
 * data/sets/SUITE.json groups them (corruptions by family and severity, semantic OOD sets),
 * with the group averages; the best method of each row in bold.
 *
 *   npm run build && node dist/bench/suite-tables.js --eval reports/full/eval-fmnist-resnet18.json [--suite data/sets/SUITE.json]
 *     [--camera-faults data/sets/CAMERA-FAULTS.json]
 *
 * The camera-fault sets (scripts/data/build_camera_faults.py) get their own table when the
 * report has them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { LABELS } from '../src/offline/report.js';

const { values } = parseArgs({
  options: {
    eval: { type: 'string' },
    suite: { type: 'string', default: 'data/sets/SUITE.json' },
    'camera-faults': { type: 'string', default: 'data/sets/CAMERA-FAULTS.json' },
  },
});
if (!values.eval) throw new Error('--eval REPORT.json is required');

interface Report {
  heads: string[];
  results: Record<string, Record<string, { fpr95: number; auroc: number }>>;
}
interface Suite {
  corruptions: Array<{ name: string; type: string; family: string; severity: number }>;
  semantic: Array<string | { name: string }>;
}
const report = JSON.parse(readFileSync(values.eval, 'utf8')) as Report;
const suite = JSON.parse(readFileSync(values.suite, 'utf8')) as Suite;
const methods = report.heads;
const has = (set: string) => report.results[methods[0]!]![set] !== undefined;
const corruptions = suite.corruptions.filter((c) => has(c.name));
const semantic = suite.semantic.map((s) => (typeof s === 'string' ? s : s.name)).filter(has);
const cameraFaultsFile = values['camera-faults']!;
const cameraFaults = existsSync(cameraFaultsFile)
  ? (JSON.parse(readFileSync(cameraFaultsFile, 'utf8')) as { camera_faults: string[] }).camera_faults.filter(has)
  : [];

const pct = (v: number) => (100 * v).toFixed(1);
const label = (m: string) => (m === 'verdict' ? '**verdict**' : (LABELS[m] ?? m));

/** One table: a row per set, a column per method; the best cell of each row in bold. */
function table(metric: 'fpr95' | 'auroc', rows: Array<{ name: string; sets: string[] }>): string {
  const lower = metric === 'fpr95';
  const head = `| set | ${methods.map(label).join(' | ')} |\n|---|${methods.map(() => '---:').join('|')}|`;
  const lines = rows.map(({ name, sets }) => {
    const cells = methods.map((m) => sets.reduce((a, s) => a + report.results[m]![s]![metric], 0) / sets.length);
    const best = lower ? Math.min(...cells) : Math.max(...cells);
    return `| ${name} | ${cells.map((v) => (pct(v) === pct(best) ? `**${pct(v)}**` : pct(v))).join(' | ')} |`;
  });
  return [head, ...lines].join('\n');
}

const families = [...new Set(corruptions.map((c) => c.family))];
const byName = corruptions.map((c) => ({ name: `${c.type} s${c.severity}`, sets: [c.name] }));
const averages = [
  ...families.map((f) => ({ name: `*${f} (average)*`, sets: corruptions.filter((c) => c.family === f).map((c) => c.name) })),
  ...[1, 2, 3].map((s) => ({ name: `*severity ${s} (average)*`, sets: corruptions.filter((c) => c.severity === s).map((c) => c.name) })),
  { name: '**corruption suite (average)**', sets: corruptions.map((c) => c.name) },
];
const semanticRows = [...semantic.map((s) => ({ name: s, sets: [s] })), { name: '**semantic (average)**', sets: semantic }];
const cameraRows = [...cameraFaults.map((s) => ({ name: s, sets: [s] })), { name: '**camera faults (average)**', sets: cameraFaults }];

for (const metric of ['fpr95', 'auroc'] as const) {
  const title = metric === 'fpr95' ? 'FPR95 (%, lower is better)' : 'AUROC (%, higher is better)';
  const rowsOf = (rows: typeof averages) => rows.filter((r) => r.sets.length > 0);
  const averageRows = rowsOf([...averages, semanticRows.at(-1)!, cameraRows.at(-1)!]);
  if (averageRows.length) console.log(`#### ${title}: averages\n\n${table(metric, averageRows)}\n`);
  if (semantic.length) console.log(`#### ${title}: semantic OOD sets\n\n${table(metric, semanticRows)}\n`);
  if (cameraFaults.length) console.log(`#### ${title}: camera faults\n\n${table(metric, cameraRows)}\n`);
  if (corruptions.length) console.log(`#### ${title}: every corruption\n\n${table(metric, byName)}\n`);
}
