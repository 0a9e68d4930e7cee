/** `gaia-sentinel dashboard-snapshot`: the Grafana dashboard's queries, rendered to a static HTML page. */
import { parseArgs } from 'node:util';
import { ErrorCodes, GaiaError } from '../errors.js';
import { readBounded, writeOutput } from '../files.js';
import { renderDashboardSnapshot } from '../telemetry/snapshot.js';
import { UsageError, type CliIO } from './io.js';

export const snapshotUsage = `Usage: gaia-sentinel dashboard-snapshot --prometheus URL --out FILE.html [--dashboard FILE] [--minutes N] [--json]

Runs every panel query of the Grafana dashboard (deploy/grafana/gaia-sentinel.json) against
Prometheus and writes the panels as SVG charts in one HTML page.

  --prometheus URL   Prometheus's base URL, e.g. http://localhost:9090
  --out FILE.html    where to write the page
  --dashboard FILE   default: deploy/grafana/gaia-sentinel.json
  --minutes N        the time range, ending now (default 5)
  --json             print one JSON object (what it wrote, the panel count)
`;

/** The dashboard JSON's shape, as far as the snapshot reads it. */
type Dashboard = Parameters<typeof renderDashboardSnapshot>[0];

const MAX_DASHBOARD_BYTES = 16 << 20;

export async function snapshotCommand(argv: string[], io: CliIO): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      prometheus: { type: 'string' },
      out: { type: 'string' },
      dashboard: { type: 'string', default: 'deploy/grafana/gaia-sentinel.json' },
      minutes: { type: 'string', default: '5' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.prometheus || !values.out) throw new UsageError('dashboard-snapshot needs --prometheus and --out', snapshotUsage);
  const prometheus = prometheusUrl(values.prometheus);
  const minutes = Number(values.minutes);
  if (!(minutes > 0) || values.minutes!.trim() === '') throw new UsageError(`--minutes must be a positive number, got "${values.minutes}"`);
  const dashboard = await readDashboard(values.dashboard!);
  const html = await renderDashboardSnapshot(dashboard, prometheus, minutes).catch((cause: unknown) => {
    throw prometheusError(prometheus, cause);
  });
  await writeOutput(values.out, html);
  const panels = dashboard.panels.length;
  io.stdout.write(values.json ? `${JSON.stringify({ out: values.out, dashboard: values.dashboard, prometheus, minutes, panels })}\n` : `wrote ${values.out} (${panels} panels)\n`);
}

function prometheusUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--prometheus must be Prometheus's base URL, e.g. http://localhost:9090, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--prometheus must be an http(s) URL, got "${value}"`);
  return value.replace(/\/+$/, '');
}

async function readDashboard(path: string): Promise<Dashboard> {
  const text = (await readBounded(path, MAX_DASHBOARD_BYTES)).toString('utf8');
  let dashboard: Partial<Dashboard>;
  try {
    dashboard = JSON.parse(text) as Partial<Dashboard>;
  } catch (cause) {
    throw new UsageError(`--dashboard ${path} is not JSON (${(cause as Error).message}): pass a Grafana dashboard export such as deploy/grafana/gaia-sentinel.json`);
  }
  if (!Array.isArray(dashboard?.panels)) throw new UsageError(`--dashboard ${path} has no "panels" list: pass a Grafana dashboard export such as deploy/grafana/gaia-sentinel.json`);
  return dashboard as Dashboard;
}

/** Why the queries failed, as one line that says what to check. */
function prometheusError(prometheus: string, cause: unknown): GaiaError {
  const err = cause as { message?: unknown; cause?: { code?: unknown; message?: unknown } } | null;
  const reason = typeof err?.cause?.code === 'string' ? err.cause.code : typeof err?.cause?.message === 'string' ? err.cause.message : undefined;
  if (cause instanceof TypeError && /fetch failed/.test(String(err?.message))) {
    return new GaiaError(
      ErrorCodes.IO,
      `cannot reach Prometheus at ${prometheus}${reason ? ` (${reason})` : ''}: check the --prometheus URL and that Prometheus is running and reachable from here`,
      { cause },
    );
  }
  const what = cause instanceof SyntaxError ? 'answered with something other than the Prometheus HTTP API (is it Prometheus, not Grafana?)' : `failed: ${String(err?.message ?? cause)}`;
  return new GaiaError(ErrorCodes.IO, `the queries to Prometheus at ${prometheus} ${what}; check --prometheus`, { cause });
}
