/**
 * The Prometheus rules and the Alertmanager config, checked by the real tools (Debian
 * `prometheus` and `prometheus-alertmanager`, which .ci/run installs): syntax, and unit
 * tests of every alert (drift keyed on the excess over p0, minimum traffic, no flapping).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');

function tool(name: string, args: string[]) {
  const r = spawnSync(name, args, { cwd: ROOT, encoding: 'utf8' });
  if (r.error) throw new Error(`${name} is not installed (${r.error.message}); on Debian: apt-get install -y prometheus prometheus-alertmanager`);
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('deploy/ rules and routing', () => {
  it('promtool check rules', () => {
    const r = tool('promtool', ['check', 'rules', 'deploy/prometheus/gaia-rules.yml']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('SUCCESS: 11 rules found');
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
    expect(r.out).toContain('SUCCESS: 11 rules found');
  });

  it('amtool check-config', () => {
    const r = tool('amtool', ['check-config', 'deploy/alertmanager/alertmanager.yml']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('1 inhibit rules');
  });
});
