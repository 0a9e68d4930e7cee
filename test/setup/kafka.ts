/**
 * Vitest global setup: a real Kafka broker for the integration tests.
 *
 * - KAFKA_BROKERS set (`host:port[,host:port...]`): use that broker; only check that it answers.
 * - Otherwise start a single-node KRaft broker with scripts/kafka/broker.sh (fetches the jars
 *   from Maven Central once, needs Java 17+ and Maven), on a lease held by this process:
 *   teardown releases it, and the broker stops when no test run holds it any more (runs in
 *   parallel share one broker; a killed run's lease lapses within seconds). A broker started
 *   by hand (`scripts/kafka/broker.sh start`) is reused and left running.
 *
 * Either way the address is provided to tests as `inject('kafkaBrokers')` (see
 * kafka-context.ts) and exported as KAFKA_BROKERS for child processes. If no broker can be
 * had, setup fails with the script's message: Kafka tests never skip silently.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { TestProject } from 'vitest/node';
import type {} from './kafka-context.js';

const { Kafka, logLevel } = kafkajs;

const SCRIPT = join(import.meta.dirname, '..', '..', 'scripts', 'kafka', 'broker.sh');
/** First run downloads ~45 MB of jars; later starts take a few seconds. */
const START_TIMEOUT_MS = 10 * 60_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs broker.sh; its stderr (progress, errors) is echoed live and also kept. */
function broker(command: 'start' | 'release' | 'secure', timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [SCRIPT, command], {
      env: { ...process.env, GAIA_KAFKA_OWNER_PID: String(process.pid) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      process.stderr.write(`[kafka] ${d.replace(/\n(?!$)/g, '\n[kafka] ')}`);
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${SCRIPT}: ${err.message} (is bash installed?)`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Connects with kafkajs, asks for the cluster's brokers, and looks up a group coordinator.
 * On a broker of our own, also initialises a transactional producer. On a fresh broker these
 * create __consumer_offsets and __transaction_state, so the first test's consumer group or
 * transaction does not wait (and log errors) while they appear. Throws if no broker answers.
 */
async function checkBroker(brokers: string[], given: boolean): Promise<void> {
  const kafka = new Kafka({
    clientId: 'gaia-test-setup',
    brokers,
    connectionTimeout: 5_000,
    retry: { retries: given ? 2 : 8 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const producer = given
    ? undefined
    : kafka.producer({ transactionalId: 'gaia-test-setup-warmup', idempotent: true, maxInFlightRequests: 1 });
  try {
    await admin.connect();
    await admin.describeCluster();
    await admin.describeGroups(['gaia-test-setup-warmup']);
    await producer?.connect();
  } catch (err) {
    const msg = (err as Error).message;
    throw new Error(
      given
        ? `KAFKA_BROKERS=${brokers.join(',')} is set, but no usable Kafka broker answers there: ${msg}. ` +
            'Start that broker, or unset KAFKA_BROKERS to let the tests start their own ' +
            '(scripts/kafka/broker.sh; needs Java 17+ and Maven).'
        : `The test broker at ${brokers.join(',')} started but does not serve clients: ${msg}. ` +
            'See its log (scripts/kafka/broker.sh status names the state folder; broker.log).',
    );
  } finally {
    await producer?.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  const given = process.env.KAFKA_BROKERS?.trim();
  if (given) {
    const brokers = given.split(',').map((s) => s.trim()).filter(Boolean);
    await checkBroker(brokers, true);
    project.provide('kafkaBrokers', brokers.join(','));
    project.provide('kafkaSecure', process.env.KAFKA_SECURE?.trim() ?? '');
    if (!process.env.KAFKA_SECURE) {
      process.stderr.write('[kafka] KAFKA_BROKERS is set without KAFKA_SECURE (see test/setup/kafka-context.ts): the SSL/SASL tests are skipped\n');
    }
    return;
  }

  const started = Date.now();
  const run = await broker('start', START_TIMEOUT_MS);
  const address = run.stdout.trim().split('\n').pop()?.trim() ?? '';
  if (run.code !== 0 || !/^[^\s:]+:\d+$/.test(address)) {
    // Killed by our timeout: give up our lease, if it was taken.
    if (run.code === null) await broker('release', 60_000);
    const why =
      run.code === 3
        ? 'Java or Maven is missing'
        : run.code === null
          ? `it did not finish within ${START_TIMEOUT_MS / 1000} s`
          : `exit status ${run.code}`;
    throw new Error(
      `The Kafka integration tests need a broker, and scripts/kafka/broker.sh could not start one (${why}):\n` +
        `${run.stderr.trim()}`,
    );
  }

  const teardown = async (): Promise<void> => {
    const release = await broker('release', 60_000);
    if (release.code !== 0) process.stderr.write(`[kafka] releasing the broker failed (exit ${release.code})\n`);
  };
  try {
    await checkBroker([address], false);
  } catch (err) {
    await teardown();
    throw err;
  }
  process.stderr.write(
    `[kafka] broker ready at ${address} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
  );

  process.env.KAFKA_BROKERS = address;
  project.provide('kafkaBrokers', address);
  // The broker's SASL_SSL listener (TLS with a throwaway CA, SASL/PLAIN), for the agent's SSL/SASL settings.
  const secure = await broker('secure', 10_000);
  const listener = secure.code === 0 ? secure.stdout.trim() : '';
  if (!listener) process.stderr.write('[kafka] the broker has no SASL_SSL listener (openssl missing?): the SSL/SASL tests are skipped\n');
  project.provide('kafkaSecure', listener);
  return teardown;
}
