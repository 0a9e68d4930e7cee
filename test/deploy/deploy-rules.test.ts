/**
 * The Prometheus rules and the Alertmanager config, checked by the real tools (Debian
 * `prometheus` and `prometheus-alertmanager`, which .ci/run installs): syntax, and unit
 * tests of every alert (drift keyed on the excess over its model's p0, minimum traffic, no
 * flapping, silence, calibration, execution provider, absent targets); every alert routed
 * by category, with an absolute runbook URL that has a section in docs/OPERATIONS.md.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

function tool(name: string, args: string[]) {
  const r = spawnSync(name, args, { cwd: ROOT, encoding: 'utf8' });
  if (r.error) throw new Error(`${name} is not installed (${r.error.message}); on Debian: apt-get install -y prometheus prometheus-alertmanager`);
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('deploy/ rules and routing', () => {
  it('promtool check rules', () => {
    const r = tool('promtool', ['check', 'rules', 'deploy/prometheus/gaia-rules.yml']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('SUCCESS: 21 rules found');
  });

  it('promtool test rules: every alert, drift excess and traffic guard, no flapping', () => {
    const r = tool('promtool', ['test', 'rules', 'deploy/prometheus/gaia-rules.test.yml']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('SUCCESS');
  });

  it('promtool check config: the example Prometheus configuration, with the rules it loads', () => {
    const r = tool('promtool', ['check', 'config', 'deploy/prometheus/prometheus.yml']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('SUCCESS: 1 rule files found');
    expect(r.out).toContain('SUCCESS: 21 rules found');
  });

  it('amtool check-config', () => {
    const r = tool('amtool', ['check-config', 'deploy/alertmanager/alertmanager.yml']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('1 inhibit rules');
    expect(r.out).toContain('4 receivers');
  });

  it('every alert has a severity, a routing category and an absolute runbook URL to its section of docs/OPERATIONS.md', () => {
    const rules = readFileSync(join(ROOT, 'deploy', 'prometheus', 'gaia-rules.yml'), 'utf8');
    const ops = readFileSync(join(ROOT, 'docs', 'OPERATIONS.md'), 'utf8');
    const tests = readFileSync(join(ROOT, 'deploy', 'prometheus', 'gaia-rules.test.yml'), 'utf8');
    const alerts = rules.split(/\n(?=      - alert: )/).slice(1);
    expect(alerts).toHaveLength(13);
    for (const a of alerts) {
      const name = /- alert: (\w+)/.exec(a)![1]!;
      expect(a, name).toMatch(/\n {10}severity: (page|ticket)\n/);
      expect(a, name).toMatch(/\n {10}category: (data-drift|infrastructure)\n/);
      const url = /runbook_url: '(.*)'/.exec(a)?.[1];
      expect(url, name).toBe(`{{ with $externalLabels.runbook_base }}{{ . }}{{ else }}https://runbook-base-unset.invalid/docs/OPERATIONS.md{{ end }}#${name.toLowerCase()}`);
      expect(ops, `docs/OPERATIONS.md has no section ### ${name}`).toContain(`\n### ${name}\n`);
      expect(tests, `no promtool test of ${name}`).toContain(`alertname: ${name}\n        exp_alerts:\n          - exp_labels`);
    }
  });
});
