/** `gaia-sentinel dashboard-snapshot`: the Grafana dashboard's queries, rendered to a static HTML page. */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ErrorCodes, GaiaError } from '../errors.js';
import { renderDashboardSnapshot } from '../telemetry/snapshot.js';
import type { CliIO } from './io.js';

export const snapshotUsage = `Usage: gaia-sentinel dashboard-snapshot --prometheus URL --out FILE.html [--dashboard FILE] [--minutes N]

Runs every panel query of the Grafana dashboard (deploy/grafana/gaia-sentinel.json) against
Prometheus and writes the panels as SVG charts in one HTML page.
`;

export async function snapshotCommand(argv: string[], io: CliIO): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      prometheus: { type: 'string' },
      out: { type: 'string' },
      dashboard: { type: 'string', default: 'deploy/grafana/gaia-sentinel.json' },
      minutes: { type: 'string', default: '5' },
    },
    strict: true,
  });
  if (!values.prometheus || !values.out) throw new GaiaError(ErrorCodes.BAD_CONFIG, `dashboard-snapshot needs --prometheus and --out\n\n${snapshotUsage}`);
  const dashboard = JSON.parse(await readFile(values.dashboard!, 'utf8'));
  const html = await renderDashboardSnapshot(dashboard, values.prometheus.replace(/\/$/, ''), Number(values.minutes));
  await writeFile(values.out, html);
  io.stdout.write(`wrote ${values.out} (${dashboard.panels.length} panels)\n`);
}
