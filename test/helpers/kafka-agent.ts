/** Spawning the agent against the test broker, and reading topics back, for the Kafka tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll } from 'vitest';
import { kafkaBrokers, uniqueName } from '../setup/kafka-context.js';
import { assertRecord, kindOfTopic } from './contract.js';

const ROOT = join(import.meta.dirname, '..', '..');

export function testKafka(clientId: string): Kafka {
  return new kafkajs.Kafka({ clientId, brokers: kafkaBrokers(), logLevel: kafkajs.logLevel.NOTHING });
}

export interface Agent {
  readonly process: ChildProcess;
  stderr(): string;
  /** What it printed on stdout (with --json: the records it published). */
  stdout(): string;
  exited(): Promise<number | null>;
  /** Base URL of the agent's /metrics, /healthz, /readyz server (from its log). */
  telemetry(): Promise<string>;
}

/** The topics one agent test reads and writes. */
export interface AgentTopics {
  readonly frames: string;
  readonly alerts: string;
  /** Empty: verdicts are not published. */
  readonly scores: string;
  readonly dlq: string;
}

/** Fresh topic names for one test (`gaia-test-<prefix>frames-…`). */
export function agentTopics(prefix = ''): AgentTopics {
  return { frames: uniqueName(`${prefix}frames`), alerts: uniqueName(`${prefix}alerts`), scores: uniqueName(`${prefix}scores`), dlq: uniqueName(`${prefix}dlq`) };
}

/** The agent's topic settings for these topics. */
export function topicEnv(t: AgentTopics): Record<string, string> {
  return { GAIA_KAFKA_FRAMES_TOPIC: t.frames, GAIA_KAFKA_ALERTS_TOPIC: t.alerts, GAIA_KAFKA_SCORES_TOPIC: t.scores, GAIA_KAFKA_DLQ_TOPIC: t.dlq };
}

/**
 * A connected admin client for one test file, and the list of topics it creates: they are
 * deleted, and the client disconnected, after the file's tests.
 */
export function testAdmin(kafka: Kafka): { readonly admin: Admin; readonly created: string[] } {
  const created: string[] = [];
  let admin: Admin | undefined;
  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.deleteTopics({ topics: created }).catch(() => {});
    await admin?.disconnect();
  });
  return {
    get admin() {
      return admin!;
    },
    created,
  };
}

/** `gaia-sentinel run` with the Kafka source, as a child process. */
export function startAgent(env: Record<string, string>, args: readonly string[] = []): Agent {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'gaia-sentinel.js'), 'run', ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      GAIA_SOURCE: 'kafka',
      GAIA_KAFKA_BROKERS: kafkaBrokers().join(','),
      GAIA_EXECUTION_PROVIDERS: 'cpu',
      GAIA_TELEMETRY_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const telemetry = async () => {
    for (let i = 0; i < 200; i++) {
      const m = /"url":"(http:\/\/[^"]+)\/metrics"/.exec(err);
      if (m) return m[1]!;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the agent logged no telemetry URL:\n${err.slice(-1000)}`);
  };
  return { process: child, stderr: () => err, stdout: () => out, exited: () => exit, telemetry };
}

/**
 * Reads an output topic from the start until `done` says enough (or the timeout). Every
 * record read is held to the output contract (helpers/contract.ts): the first one that
 * violates its schema fails the read.
 */
export async function collect(kafka: Kafka, topic: string, done: (ms: KafkaMessage[]) => boolean, timeoutMs = 90_000): Promise<KafkaMessage[]> {
  const kind = kindOfTopic(topic);
  if (!kind) throw new Error(`collect() reads contract topics (frames, alerts, scores, dlq, changelog by name), not ${topic}`);
  const consumer = kafka.consumer({ groupId: uniqueName('reader'), maxBytesPerPartition: 16 * 1024 * 1024 });
  const seen: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out on ${topic} with ${seen.length} messages`)), timeoutMs);
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          try {
            assertRecord(kind, message, `${topic}[${partition}]@${message.offset}`);
          } catch (err) {
            clearTimeout(timer);
            reject(err as Error);
            return;
          }
          seen.push(message);
          if (done(seen)) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

/** The frame ids of the verdicts on a scores topic. */
export function verdictIds(messages: KafkaMessage[]): string[] {
  return messages.map((m) => JSON.parse(m.value!.toString()).frameId as string);
}

/**
 * The group's assignment as the broker has it, member id → partitions of `topic`, once the
 * group is stable with `members` members owning all `partitions` (three equal reads in a row).
 */
export async function settledAssignment(admin: Admin, group: string, topic: string, partitions: number, members: number): Promise<Map<string, number[]>> {
  let last = '';
  let same = 0;
  for (let i = 0; i < 240; i++) {
    const { groups } = await admin.describeGroups([group]);
    const g = groups[0]!;
    const layout = new Map(
      g.members.map((m) => [m.memberId, [...(kafkajs.AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment[topic] ?? [])].sort((x, y) => x - y)] as const),
    );
    const all = [...layout.values()].flat();
    const key = JSON.stringify([...layout].sort());
    if (g.state === 'Stable' && layout.size === members && all.length === partitions && new Set(all).size === partitions && key === last) {
      if (++same >= 3) return layout;
    } else same = 0;
    last = key;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the group did not settle: ${last}`);
}
