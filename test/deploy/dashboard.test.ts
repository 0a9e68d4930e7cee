/**
 * The Grafana dashboard: every PromQL expression (panels and annotations, with the $source
 * variable filled in) parses, checked by promtool on a generated rules file; the panels
 * the on-call view needs are there.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dashboard = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'deploy', 'grafana', 'gaia-sentinel.json'), 'utf8')) as {
  panels: Array<{ title: string; type: string; targets: Array<{ expr: string }> }>;
  annotations: { list: Array<{ expr: string }> };
  templating: { list: Array<{ name: string }> };
};

/** Grafana variables replaced by values Prometheus would see. */
const concrete = (expr: string) => expr.replaceAll('$source', '.*').replaceAll('$model', '.*').replaceAll('$__rate_interval', '1m');

describe('deploy/grafana dashboard', () => {
  it('has model and source variables and the panels on-call needs', () => {
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(expect.arrayContaining(['model', 'source']));
    const titles = dashboard.panels.map((p) => p.title).join(' | ');
    for (const t of ['Drift rate per source vs expected p0', 'OOD frames per second', 'GAIA-Z score distribution', 'Throughput', 'latency p50 / p99', 'Batch size', 'Consumer lag', 'Errors and dead letters', 'Pipeline queue and backpressure', 'Predictions per class', 'Agents without calibration', 'Agents per version']) {
      expect(titles).toContain(t);
    }
    expect(dashboard.panels.find((p) => p.title.startsWith('GAIA-Z score'))!.type).toBe('heatmap');
    expect(dashboard.annotations.list[0]!.expr).toContain('gaia_drift_active');
  });

  it('sums the score histogram with fixed score ÷ threshold buckets, never raw scores (which differ per calibration)', () => {
    const heatmap = dashboard.panels.find((p) => p.type === 'heatmap')!;
    expect(heatmap.targets.map((t) => t.expr)).toEqual([expect.stringContaining('gaia_score_threshold_ratio_bucket')]);
    const all = JSON.stringify(dashboard);
    for (const old of ['gaia_score_bucket', 'gaia_drift_rate', 'gaia_baseline_flag_rate', 'gaia_decode_errors_total', 'gaia_process_']) expect(all).not.toContain(old);
  });

  it('has only PromQL that parses (promtool)', () => {
    const exprs = [...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)), ...dashboard.annotations.list.map((a) => a.expr)].map(concrete);
    const rules = `groups:\n  - name: dashboard\n    rules:\n${exprs.map((e, i) => `      - record: dashboard:expr_${i}\n        expr: ${JSON.stringify(e)}`).join('\n')}\n`;
    const file = join(mkdtempSync(join(tmpdir(), 'gaia-dash-')), 'exprs.yml');
    writeFileSync(file, rules);
    const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    if (r.error) throw new Error(`promtool is not installed (${r.error.message}); on Debian: apt-get install -y prometheus`);
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${exprs.length} rules found`);
  });
});
