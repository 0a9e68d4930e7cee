/** `promtool check metrics` (Debian `prometheus`) on a /metrics text: the naming-guide lint. */
import { spawnSync } from 'node:child_process';

export function promtoolCheckMetrics(text: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool is not installed (${r.error.message}); on Debian: apt-get install -y prometheus`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}
