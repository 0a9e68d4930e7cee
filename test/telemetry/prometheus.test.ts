/**
 * A real Prometheus (Debian's) scrapes a running agent — the replay source with injected
 * drift and a few bad frames — and evaluates the project's rules, time-compressed (5-minute
 * windows become 10 s) so the test takes seconds: the drift alert reaches state firing in
 * /api/v1/alerts with an absolute runbook URL on the configured base, and every PromQL
 * expression of the dashboard and the rules parses and returns data. The agent's live
 * /metrics passes `promtool check metrics`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderDashboardSnapshot } from '../../src/telemetry/snapshot.js';
import { promtoolCheckMetrics } from '../helpers/promtool.js';
import { freePort, until } from '../helpers/wait.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SAMPLES = join(ROOT, 'models', 'fmnist-cnn', 'samples');

const RUNBOOK_BASE = 'https://runbooks.test/gaia-sentinel/docs/OPERATIONS.md';

describe('a real Prometheus scraping the agent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gaia-prom-'));
  let agent: ChildProcess;
  let prometheus: ChildProcess;
  let promUrl: string;
  let target: string;
  let agentLog = '';

  beforeAll(async () => {
    // Replay: a folder of ID frames with three corrupt files, then OOD frames, looped.
    const id = join(dir, 'id');
    mkdirSync(id);
    for (const n of readdirSync(join(SAMPLES, 'id')).slice(0, 200)) copyFileSync(join(SAMPLES, 'id', n), join(id, n));
    for (let i = 0; i < 3; i++) writeFileSync(join(id, `zz-corrupt-${i}.png`), 'not a png');
    agent = spawn(process.execPath, [join(ROOT, 'bin', 'gaia-sentinel.js'), 'run'], {
      cwd: ROOT,
      env: {
        ...process.env,
        GAIA_TELEMETRY_PORT: '0',
        GAIA_EXECUTION_PROVIDERS: 'cpu',
        GAIA_REPLAY_FPS: '100',
        GAIA_REPLAY_DIRS: `${id},${join(SAMPLES, 'ood')}*30`, // ~3 min: outlives the test
        GAIA_DRIFT_WINDOW: '50',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    agent.stderr!.on('data', (d: Buffer) => (agentLog += d.toString()));
    target = await until('the agent telemetry URL', async () => /"url":"http:\/\/([^"/]+)\/metrics"/.exec(agentLog)?.[1], 30_000);

    // The project's rules, time-compressed: windows and durations shrink, expressions stay.
    const rules = readFileSync(join(ROOT, 'deploy', 'prometheus', 'gaia-rules.yml'), 'utf8')
      .replaceAll('[5m]', '[10s]')
      .replaceAll('[10m]', '[20s]')
      .replace(/for: \d+m/g, 'for: 2s')
      .replace(/keep_firing_for: \d+m/g, 'keep_firing_for: 20s');
    writeFileSync(join(dir, 'rules.yml'), rules);
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n  external_labels:\n    runbook_base: ${RUNBOOK_BASE}\n` +
        `rule_files: [${JSON.stringify(join(dir, 'rules.yml'))}]\n` +
        // The agent declares the provider it is deployed for, as a GPU fleet would (here the CPU).
        `scrape_configs:\n  - job_name: gaia-sentinel\n    static_configs:\n      - targets: [${JSON.stringify(target)}]\n        labels:\n          expected_execution_provider: cpu\n`,
    );
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const spawned = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], {
      stdio: 'ignore',
    });
    spawned.on('error', (err) => {
      throw new Error(`prometheus is not installed (${err.message}); on Debian: apt-get install -y prometheus`);
    });
    prometheus = spawned;
    await until('Prometheus to be ready', async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined), 30_000);
  });

  afterAll(() => {
    agent?.kill('SIGKILL');
    prometheus?.kill('SIGKILL');
  });

  async function query(expr: string): Promise<{ status: string; data: { result: unknown[] } }> {
    const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await r.json()) as { status: string; data: { result: unknown[] } };
  }

  it('the drift alert reaches state firing', async () => {
    const alert = await until(
      'GaiaDriftDetected to fire',
      async () => {
        const body = (await (await fetch(`${promUrl}/api/v1/alerts`)).json()) as {
          data: { alerts: Array<{ labels: Record<string, string>; annotations: Record<string, string>; state: string }> };
        };
        return body.data.alerts.find((a) => a.labels.alertname === 'GaiaDriftDetected' && a.state === 'firing');
      },
      60_000,
    );
    expect(alert.labels).toMatchObject({ source: 'camera-1', model: 'fmnist-cnn', severity: 'page', category: 'data-drift', job: 'gaia-sentinel' });
    expect(alert.annotations.runbook_url).toBe(`${RUNBOOK_BASE}#gaiadriftdetected`);
  });

  it("the agent's live /metrics passes promtool check metrics", async () => {
    const text = await (await fetch(`http://${target}/metrics`)).text();
    expect(text).toContain('gaia_score_threshold_ratio_bucket');
    expect(text).toContain('process_cpu_seconds_total');
    const r = promtoolCheckMetrics(text);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toBe('');
  });

  it('p0 is recorded per model, and a source\'s excess is taken against its own model\'s p0', async () => {
    const p0 = await query('gaia:baseline_flag_ratio:max');
    expect(p0.data.result).toEqual([expect.objectContaining({ metric: { __name__: 'gaia:baseline_flag_ratio:max', job: 'gaia-sentinel', model: 'fmnist-cnn' } })]);
    const excess = await until('gaia:ood_excess:rate5m', async () => ((await query('gaia:ood_excess:rate5m')).data.result as Array<{ metric: Record<string, string> }>).find((r) => r.metric.source === 'camera-1'), 30_000);
    expect(excess.metric).toMatchObject({ job: 'gaia-sentinel', model: 'fmnist-cnn' });
  });

  it('every PromQL expression of the dashboard and the rules parses and returns data', async () => {
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy', 'grafana', 'gaia-sentinel.json'), 'utf8')) as {
      panels: Array<{ targets: Array<{ expr: string }> }>;
      annotations: { list: Array<{ expr: string }> };
    };
    const rules = readFileSync(join(dir, 'rules.yml'), 'utf8');
    const ruleExprs = [...rules.matchAll(/expr: \|\n((?: {10}.*\n)+)|expr: (.*)\n/g)].map((m) => (m[1] ?? m[2]!).trim());
    const exprs = [
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
      ...dashboard.annotations.list.map((a) => a.expr),
      ...ruleExprs,
    ]
      .map((e) => e.replaceAll('$source', '.*').replaceAll('$model', '.*').replaceAll('$__rate_interval', '10s').replaceAll('[5m]', '[10s]'))
      // absent(x) returns data only when nothing is scraped: x must return data instead.
      .map((e) => e.replace(/^absent\((.*)\)$/, '$1'));
    // An alert condition returns data only while it holds: for those, every operand of the
    // condition (the parts joined by and/or, without their comparison) must return data.
    const operands = (expr: string) =>
      expr
        .split(/\s+(?:and|or|unless)\s+(?:on\s*\([^)]*\)\s*)?/)
        .map((part) => part.replace(/\s*(?:>=|<=|==|!=|>|<)\s*(?:on\s*\([^)]*\)\s*)?[^><=!]*$/, '').trim())
        .filter(Boolean);
    let checked = 0;
    for (const expr of exprs) {
      const condition = /(?:>=|<=|==|!=|>|<)/.test(expr.replace(/\{[^}]*\}/g, '')) || /\s(?:and|unless)\s/.test(expr);
      const parts = condition ? operands(expr) : [expr];
      for (const part of parts) {
        await until(`data for ${part} (from ${expr})`, async () => {
          const q = await query(part);
          expect(q.status, part).toBe('success');
          return q.data.result.length > 0 ? q : undefined;
        }, 30_000);
        checked++;
      }
    }
    console.log(`${exprs.length} expressions parse and return data (${checked} queries, alert conditions by operand)`);
    expect(exprs.length).toBeGreaterThan(20);
  });

  it('renders the dashboard snapshot from the same queries', async () => {
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy', 'grafana', 'gaia-sentinel.json'), 'utf8'));
    const html = await renderDashboardSnapshot(dashboard, promUrl, 2);
    expect(html.match(/<svg /g)).toHaveLength(dashboard.panels.length);
    expect(html).toContain('Drift rate per source vs expected p0');
    expect(html).toMatch(/<path d="M[\d.]+,[\d.]+L/); // at least one drawn series
  });
});
