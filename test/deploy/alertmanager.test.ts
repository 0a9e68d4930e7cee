/**
 * A real Alertmanager (Debian `prometheus-alertmanager`) loaded with
 * deploy/alertmanager/alertmanager.yml, its receivers pointed at a local webhook and its
 * group waits shortened: one agent down inhibits the alerts about that agent only; drift
 * pages (any source's, the down agent's own included) and another agent's alerts go
 * through; data drift reaches the model owner, infrastructure SRE.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, until } from '../helpers/wait.js';

const ROOT = join(import.meta.dirname, '..', '..');

type Labels = Record<string, string>;
interface Notification {
  receiver: string;
  alerts: Array<{ status: string; labels: Labels }>;
}
interface StoredAlert {
  labels: Labels;
  receivers: Array<{ name: string }>;
  status: { state: string; inhibitedBy: string[] };
}

const job = 'gaia-sentinel';
const model = 'fmnist-cnn';
const ALERTS: Labels[] = [
  { alertname: 'GaiaAgentDown', job, instance: 'agent-a:9464', severity: 'page', category: 'infrastructure' },
  // About agent a: says nothing new while it is down.
  { alertname: 'GaiaConsumerLagGrowing', job, instance: 'agent-a:9464', severity: 'ticket', category: 'infrastructure' },
  // About agent b: not a's business.
  { alertname: 'GaiaConsumerLagGrowing', job, instance: 'agent-b:9464', severity: 'ticket', category: 'infrastructure' },
  // Drift, per model and source: cam-b is on agent b, cam-a was on agent a.
  { alertname: 'GaiaDriftDetected', job, model, source: 'cam-b', severity: 'page', category: 'data-drift' },
  { alertname: 'GaiaDriftDetected', job, model, source: 'cam-a', severity: 'page', category: 'data-drift' },
  { alertname: 'GaiaOodRateHighFleetWide', job, model, severity: 'ticket', category: 'data-drift' },
];

describe('a real Alertmanager with deploy/alertmanager/alertmanager.yml', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gaia-am-'));
  const notifications: Notification[] = [];
  let webhook: Server;
  let alertmanager: ChildProcess;
  let amUrl: string;
  let amLog = '';

  beforeAll(async () => {
    webhook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        notifications.push(JSON.parse(body) as Notification);
        res.end();
      });
    });
    await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
    const hook = `http://127.0.0.1:${(webhook.address() as { port: number }).port}`;

    // The shipped routing and inhibition as they are; only the receivers (placeholders for
    // PagerDuty and a ticket system) become webhooks, and the waits are shortened.
    const shipped = readFileSync(join(ROOT, 'deploy', 'alertmanager', 'alertmanager.yml'), 'utf8');
    const names = [...shipped.matchAll(/^ {2}- name: (\S+)$/gm)].map((m) => m[1]!);
    expect(names.sort()).toEqual(['gaia-model-owner-pager', 'gaia-model-owner-tickets', 'gaia-sre-pager', 'gaia-sre-tickets']);
    const receivers = `receivers:\n${names.map((n) => `  - name: ${n}\n    webhook_configs:\n      - url: ${hook}/${n}\n`).join('')}\n`;
    const config = shipped
      .replace(/^receivers:\n[\s\S]*?(?=^inhibit_rules:)/m, receivers)
      .replace(/group_wait: \w+/g, 'group_wait: 1s')
      .replace(/group_interval: \w+/g, 'group_interval: 1s');
    expect(config).toContain('inhibit_rules:');
    writeFileSync(join(dir, 'alertmanager.yml'), config);

    const port = await freePort();
    amUrl = `http://127.0.0.1:${port}`;
    alertmanager = spawn(
      'prometheus-alertmanager',
      [`--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    alertmanager.stderr!.on('data', (d: Buffer) => (amLog += d.toString()));
    alertmanager.on('error', (err) => {
      amLog += `\nprometheus-alertmanager is not installed (${err.message}); on Debian: apt-get install -y prometheus-alertmanager`;
    });
    await until('Alertmanager to be ready', async () => ((await fetch(`${amUrl}/-/ready`)).ok ? true : undefined), 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${amLog.slice(-2000)}`);
    });

    // The agent-down alert first, as Prometheus would send it (it fires before the alerts it
    // explains): inhibition applies to alerts notified while their source alert is known.
    const now = Date.now();
    const post = async (labels: Labels[]) => {
      const r = await fetch(`${amUrl}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(
          labels.map((l) => ({
            labels: l,
            annotations: { summary: l.alertname!, runbook_url: `https://runbooks.test/docs/OPERATIONS.md#${l.alertname!.toLowerCase()}` },
            startsAt: new Date(now - 60_000).toISOString(),
            endsAt: new Date(now + 3_600_000).toISOString(),
          })),
        ),
      });
      expect(r.status, await r.text()).toBe(200);
    };
    await post(ALERTS.slice(0, 1));
    await until('GaiaAgentDown to be active', async () => (((await (await fetch(`${amUrl}/api/v2/alerts`)).json()) as StoredAlert[]).length === 1 ? true : undefined), 10_000);
    await post(ALERTS.slice(1));
  });

  afterAll(async () => {
    alertmanager?.kill('SIGKILL');
    await new Promise((r) => webhook?.close(r));
  });

  const delivered = (receiver: string) =>
    notifications
      .filter((n) => n.receiver === receiver)
      .flatMap((n) => n.alerts.map((a) => [a.labels.alertname, a.labels.instance ?? a.labels.source ?? a.labels.model].join(' ')))
      .sort();

  it('delivers drift to the model owner and infrastructure to SRE, pages and tickets apart; the down agent inhibits only its own alerts', async () => {
    const expected = {
      'gaia-sre-pager': ['GaiaAgentDown agent-a:9464'],
      'gaia-sre-tickets': ['GaiaConsumerLagGrowing agent-b:9464'],
      'gaia-model-owner-pager': ['GaiaDriftDetected cam-a', 'GaiaDriftDetected cam-b'],
      'gaia-model-owner-tickets': ['GaiaOodRateHighFleetWide fmnist-cnn'],
    };
    const seen = () => Object.fromEntries(Object.keys(expected).map((r) => [r, [...new Set(delivered(r))]]));
    await until('every receiver to be notified', async () => (JSON.stringify(seen()) === JSON.stringify(expected) ? true : undefined), 30_000).catch(() => {
      throw new Error(`notified: ${JSON.stringify(seen())}\n${amLog.slice(-2000)}`);
    });
    // A few more group intervals: the inhibited alert is never sent, to anyone.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(seen()).toEqual(expected);
  });

  it("shows agent a's lag alert as inhibited by its GaiaAgentDown, and nothing else", async () => {
    const alerts = (await (await fetch(`${amUrl}/api/v2/alerts`)).json()) as StoredAlert[];
    expect(alerts).toHaveLength(ALERTS.length);
    const down = alerts.find((a) => a.labels.alertname === 'GaiaAgentDown')!;
    const inhibited = alerts.filter((a) => a.status.inhibitedBy.length > 0);
    expect(inhibited.map((a) => a.labels)).toEqual([ALERTS[1]]);
    expect(inhibited[0]!.status.state).toBe('suppressed');
    expect(down.status.state).toBe('active');
    for (const a of alerts.filter((x) => x.labels.alertname === 'GaiaDriftDetected')) {
      expect(a.status).toMatchObject({ state: 'active', inhibitedBy: [] });
      expect(a.receivers.map((r) => r.name)).toEqual(['gaia-model-owner-pager']);
    }
  });
});
