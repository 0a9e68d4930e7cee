/**
 * deploy/compose/, checked offline by the real tools (Debian `docker-compose` and
 * `prometheus`, which .ci/run installs) and against the agent itself: the file is valid
 * Compose, every file it mounts exists, every GAIA_* variable it sets is a real config key,
 * the topics it creates are the ones the agent is configured to use, the producer's
 * arguments are ones `gaia-sentinel produce` accepts, and its Prometheus configuration loads
 * the shipped rules. Starting the stack needs a Docker engine and its images: not done here.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_KEYS } from '../../src/config/keys.js';
import { schema } from '../../src/config/schema.js';
import { produceUsage } from '../../src/cli/produce.js';

const ROOT = join(import.meta.dirname, '..', '..');
const FILE = 'deploy/compose/docker-compose.yml';

function tool(name: string, args: string[], cwd = ROOT) {
  const r = spawnSync(name, args, { cwd, encoding: 'utf8' });
  if (r.error) throw new Error(`${name} is not installed (${r.error.message}); on Debian: apt-get install -y docker-compose prometheus`);
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Every env var the config reads. */
const schemaEnvs = () => CONFIG_KEYS.flatMap((k) => (k.env ? [k.env] : []));

interface Service {
  image?: string;
  command?: string[] | string;
  environment?: Record<string, string>;
  volumes?: Array<string | { source?: string; target?: string }>;
}

/** The file as docker-compose resolves it (anchors merged, paths absolute). */
function resolved(): { services: Record<string, Service> } {
  const r = tool('docker-compose', ['-f', FILE, 'config']);
  expect(r.code, r.err).toBe(0);
  return parse(r.out) as { services: Record<string, Service> };
}

describe('deploy/compose: one `docker compose up` for the whole stack', () => {
  it('docker-compose config accepts it, and every file it mounts exists', () => {
    const { services } = resolved();
    expect(Object.keys(services).sort()).toEqual(['agent', 'alertmanager', 'grafana', 'kafka', 'producer', 'prometheus', 'topic-init']);
    for (const [name, s] of Object.entries(services)) {
      for (const v of s.volumes ?? []) {
        const source = typeof v === 'string' ? v.split(':')[0]! : v.source!;
        expect(existsSync(source), `${name} mounts ${source}`).toBe(true);
      }
    }
  });

  it('sets only real config keys, and creates the topics the agent uses', () => {
    const { services } = resolved();
    const known = new Set(schemaEnvs());
    for (const name of ['agent', 'producer']) {
      for (const key of Object.keys(services[name]!.environment ?? {})) expect(known.has(key), `${name}: ${key}`).toBe(true);
    }
    const env = services.agent!.environment!;
    const init = JSON.stringify(services['topic-init']!.command);
    const topics = [...init.matchAll(/--topic (\S+)/g)].map((m) => m[1]);
    const defaults = schema.kafka as unknown as Record<string, { default: unknown }>;
    const wanted = [
      env.GAIA_KAFKA_FRAMES_TOPIC ?? defaults.framesTopic!.default,
      env.GAIA_KAFKA_ALERTS_TOPIC ?? defaults.alertsTopic!.default,
      env.GAIA_KAFKA_DLQ_TOPIC ?? defaults.dlqTopic!.default,
      env.GAIA_KAFKA_SCORES_TOPIC,
      env.GAIA_DRIFT_CHANGELOG_TOPIC,
    ];
    expect([...topics].sort()).toEqual([...wanted].sort());
    // The changelog is compacted; the outputs keep Kafka's default limit, which the agent is told.
    expect(init).toMatch(new RegExp(`--topic ${env.GAIA_DRIFT_CHANGELOG_TOPIC} [^"]*cleanup.policy=compact`));
    expect(env.GAIA_KAFKA_MAX_MESSAGE_BYTES).toBe('1048588');
  });

  it("the producer's arguments are ones gaia-sentinel produce accepts, on files in the image", () => {
    const { services } = resolved();
    const [command, ...args] = services.producer!.command as string[];
    expect(command).toBe('produce');
    for (const flag of args.filter((a) => a.startsWith('--'))) expect(produceUsage, flag).toContain(`${flag} `);
    for (const path of args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'))) expect(existsSync(join(ROOT, path)), path).toBe(true);
  });

  it("promtool check config: the stack's Prometheus configuration with the shipped rules", () => {
    const dir = mkdtempSync(join(tmpdir(), 'gaia-compose-prom-'));
    try {
      copyFileSync(join(ROOT, 'deploy/compose/prometheus.yml'), join(dir, 'prometheus.yml'));
      copyFileSync(join(ROOT, 'deploy/prometheus/gaia-rules.yml'), join(dir, 'gaia-rules.yml'));
      const r = tool('promtool', ['check', 'config', 'prometheus.yml'], dir);
      expect(r.code, `${r.out}${r.err}`).toBe(0);
      expect(`${r.out}${r.err}`).toContain('SUCCESS: 1 rule files found');
      expect(readFileSync(join(dir, 'prometheus.yml'), 'utf8')).toContain("targets: ['agent:9464']");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
