/** Spawning the agent against the test broker, and reading topics back, for the Kafka tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { kafkaBrokers, uniqueName } from '../setup/kafka-context.js';

const ROOT = join(import.meta.dirname, '..', '..');

export function testKafka(clientId: string): Kafka {
  return new kafkajs.Kafka({ clientId, brokers: kafkaBrokers(), logLevel: kafkajs.logLevel.NOTHING });
}

export interface Agent {
  readonly process: ChildProcess;
  stderr(): string;
  exited(): Promise<number | null>;
}

/** `gaia-sentinel run` with the Kafka source, as a child process. */
export function startAgent(env: Record<string, string>): Agent {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'gaia-sentinel.js'), 'run'], {
    cwd: ROOT,
    env: { ...process.env, GAIA_SOURCE: 'kafka', GAIA_KAFKA_BROKERS: kafkaBrokers().join(','), GAIA_EXECUTION_PROVIDERS: 'cpu', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.resume();
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { process: child, stderr: () => err, exited: () => exit };
}

/** Reads a topic from the start until `done` says enough (or the timeout). */
export async function collect(kafka: Kafka, topic: string, done: (ms: KafkaMessage[]) => boolean, timeoutMs = 90_000): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('reader'), maxBytesPerPartition: 16 * 1024 * 1024 });
  const seen: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out on ${topic} with ${seen.length} messages`)), timeoutMs);
      void consumer.run({
        eachMessage: async ({ message }) => {
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
