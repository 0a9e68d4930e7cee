/**
 * deploy/helm/gaia-sentinel, checked offline by real tools built from the Go module proxy
 * (scripts/build-k8s-tools.sh, which .ci/run runs): `helm lint`, `helm template` with the
 * default values and with every option on, each rendering decoded strictly into the official
 * Kubernetes, Prometheus Operator and KEDA API types (tools/k8s-validate), and read back
 * against the agent itself: every GAIA_* variable a pod gets is a real config key and loads,
 * the PrometheusRule holds exactly deploy/prometheus/gaia-rules.yml, the grace period covers
 * the drain deadline, autoscaling never exceeds the partitions. Installing it into a cluster
 * is not done here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CHART, helmTemplate, KUBE_VERSION, tool, type Obj } from '../helpers/helm.js';
import { loadConfig } from '../../src/config/load.js';
import { CONFIG_KEYS } from '../../src/config/keys.js';

const ROOT = join(import.meta.dirname, '..', '..');

function render(set: string[] = []): { text: string; objects: Obj[] } {
  const r = helmTemplate(set);
  expect(r.code, r.err).toBe(0);
  return r;
}

const FULL = [
  'gpu.enabled=true',
  'autoscaling.keda.enabled=true',
  'kafka.exactlyOnce=true',
  'kafka.tls.enabled=true',
  'kafka.tls.secretName=kafka-ca',
  'kafka.sasl.mechanism=scram-sha-512',
  'kafka.sasl.username=gaia',
  'kafka.sasl.existingSecret=kafka-gaia',
  'calibration.configMap=gaia-calibration',
  'env.GAIA_DRIFT_WINDOW=200',
];

const byKind = (objects: Obj[], kind: string) => objects.filter((o) => o.kind === kind);
const container = (objects: Obj[]) => byKind(objects, 'StatefulSet')[0]!.spec.template.spec.containers[0];
const envOf = (objects: Obj[]) => Object.fromEntries((container(objects).env as Array<{ name: string; value?: string }>).map((e) => [e.name, e.value]));

/** Every env var the config reads (and the _FILE twins of its secrets). */
const schemaEnvs = () => CONFIG_KEYS.flatMap((k) => (k.env ? [k.env, ...(k.sensitive ? [`${k.env}_FILE`] : [])] : []));

describe('deploy/helm/gaia-sentinel', () => {
  it('helm lint --strict passes', () => {
    const r = tool('helm', ['lint', '--strict', '--kube-version', KUBE_VERSION, CHART]);
    expect(r.code, `${r.out}${r.err}`).toBe(0);
  });

  it.each([
    ['default values', [] as string[], ['PodDisruptionBudget', 'PodMonitor', 'PrometheusRule', 'Service', 'StatefulSet']],
    ['every option on', FULL, ['PodDisruptionBudget', 'PodMonitor', 'PrometheusRule', 'ScaledObject', 'Service', 'StatefulSet']],
  ])('renders with %s into objects the Kubernetes, Prometheus Operator and KEDA types accept strictly', (_, set, kinds) => {
    const { text, objects } = render(set);
    expect(objects.map((o) => o.kind).sort()).toEqual(kinds);
    const v = tool('k8s-validate', [], text);
    expect(v.code, v.err).toBe(0);
    expect(v.out).toContain(`${kinds.length} objects valid`);
  });

  it('the validator is not a rubber stamp: a misspelt field or an unknown kind fails', () => {
    const { text } = render();
    const typo = tool('k8s-validate', [], text.replace('readinessProbe:', 'readynessProbe:'));
    expect(typo.code).toBe(1);
    expect(typo.err).toMatch(/StatefulSet\/gaia-gaia-sentinel: .*readynessProbe/);
    const unknown = tool('k8s-validate', [], 'apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: x\n');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('no schema known');
  });

  it('every GAIA_* variable a pod gets is a config key, and the agent loads them', () => {
    for (const set of [[], FULL]) {
      const env = envOf(render(set).objects);
      const known = new Set(schemaEnvs());
      for (const k of Object.keys(env).filter((k) => k.startsWith('GAIA_'))) expect(known.has(k), k).toBe(true);
      // As the kubelet would expand it, with the secret file in place of the mount.
      const expanded = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, (v ?? '').replace('$(POD_NAME)', 'gaia-gaia-sentinel-0')]));
      const file = expanded.GAIA_KAFKA_SASL_PASSWORD_FILE;
      if (file) expanded.GAIA_KAFKA_SASL_PASSWORD_FILE = join(ROOT, 'LICENSE'); // any readable file stands in for the secret
      delete expanded.GAIA_KAFKA_SSL_CA_FILE; // read only when connecting
      expect(() => loadConfig({ env: expanded })).not.toThrow();
    }
  });

  it('GPU, exactly-once, secrets and calibration: what each option must change', () => {
    const { objects } = render(FULL);
    const c = container(objects);
    const env = envOf(objects);
    const sts = byKind(objects, 'StatefulSet')[0]!;
    expect(c.resources.limits['nvidia.com/gpu']).toBe(1);
    expect(env).toMatchObject({ GAIA_EXECUTION_PROVIDERS: 'cuda,cpu', GAIA_REQUIRE_GPU: 'true', GAIA_KAFKA_EXACTLY_ONCE: 'true' });
    expect(c.image).toBe('gaia-sentinel:0.1.0-gpu');
    // Stable per pod across restarts: the StatefulSet's pod name.
    expect(env.GAIA_KAFKA_TRANSACTIONAL_ID).toBe('gaia-sentinel-$(POD_NAME)');
    expect(env.GAIA_KAFKA_SASL_PASSWORD).toBeUndefined();
    expect(env.GAIA_KAFKA_SASL_PASSWORD_FILE).toBe('/var/run/secrets/gaia/kafka-sasl/password');
    expect(env.GAIA_CALIBRATION).toBe('/etc/gaia/calibration/calibration.json');
    expect(Number(env.GAIA_CALIBRATION_WATCH_INTERVAL_MS)).toBeGreaterThan(0);
    // KEDA owns the replica count.
    expect(sts.spec.replicas).toBeUndefined();
    const scaled = byKind(objects, 'ScaledObject')[0]!;
    expect(scaled.spec.scaleTargetRef).toMatchObject({ kind: 'StatefulSet', name: sts.metadata.name });
    expect(scaled.spec.triggers[0]).toMatchObject({ type: 'kafka', metadata: { consumerGroup: 'gaia-sentinel', topic: 'gaia.frames' } });
    const pm = byKind(objects, 'PodMonitor')[0]!;
    expect(pm.spec.podMetricsEndpoints[0].relabelings).toContainEqual({ targetLabel: 'expected_execution_provider', replacement: 'cuda' });
  });

  it('terminationGracePeriodSeconds outlasts the drain deadline; probes on /healthz and /readyz; non-root, read-only root', () => {
    const { objects } = render(['shutdownTimeoutMs=45000']);
    const pod = byKind(objects, 'StatefulSet')[0]!.spec.template.spec;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(45);
    const c = pod.containers[0];
    expect(c.startupProbe.httpGet.path).toBe('/healthz');
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
  });

  it('refuses more agents (or KEDA replicas) than partitions, and SASL without a secret, naming the value', () => {
    for (const [set, message] of [
      [['autoscaling.keda.enabled=true', 'autoscaling.keda.maxReplicas=12', 'kafka.framesPartitions=6'], /maxReplicas \(12\) must not exceed kafka.framesPartitions \(6\)/],
      [['replicas=8', 'kafka.framesPartitions=6'], /replicas \(8\) must not exceed kafka.framesPartitions \(6\)/],
      [['kafka.sasl.mechanism=plain'], /kafka.sasl.existingSecret/],
    ] as const) {
      const r = tool('helm', ['template', 'gaia', CHART, '--kube-version', KUBE_VERSION, ...set.flatMap((s) => ['--set', s])]);
      expect(r.code, set.join(' ')).not.toBe(0);
      expect(r.err).toMatch(message);
    }
  });

  it('its PrometheusRule holds exactly the rules of deploy/prometheus/gaia-rules.yml', () => {
    expect(readFileSync(join(ROOT, CHART, 'files', 'gaia-rules.yml'), 'utf8')).toBe(readFileSync(join(ROOT, 'deploy/prometheus/gaia-rules.yml'), 'utf8'));
    const rule = byKind(render().objects, 'PrometheusRule')[0]!;
    expect(rule.spec).toEqual(parse(readFileSync(join(ROOT, 'deploy/prometheus/gaia-rules.yml'), 'utf8')));
  });
});
