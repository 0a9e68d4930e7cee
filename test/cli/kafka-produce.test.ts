/**
 * `gaia-sentinel produce` end to end on the real broker: the bundled sample frames sent as
 * three cameras into a frames topic at Kafka's default message limit, then the agent scoring
 * them: every produced frame gets its verdict, under its source and frame id. Files that
 * are not images, or are over the topic's limit, are skipped and named; --fps paces.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KafkaMessage } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { agentTopics, collect, startAgent, testAdmin, testKafka, topicEnv } from '../helpers/kafka-agent.js';
import { kafkaBrokers, uniqueName } from '../setup/kafka-context.js';
import { cleanEnv } from '../helpers/clean-env.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SAMPLES = join(ROOT, 'models', 'fmnist-cnn', 'samples', 'id');
const KAFKA_DEFAULT_LIMIT = '1048588';
const kafka = testKafka('gaia-test-produce');
const tmp = mkdtempSync(join(tmpdir(), 'gaia-produce-'));
const testTopics = testAdmin(kafka);
const created = testTopics.created;
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function produce(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/gaia-sentinel.js', 'produce', ...args],
      { cwd: ROOT, env: cleanEnv({ GAIA_KAFKA_BROKERS: kafkaBrokers().join(','), GAIA_LOG_LEVEL: 'warn', ...env }), timeout: 120_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

const header = (m: KafkaMessage, name: string) => m.headers?.[name]?.toString();

describe('gaia-sentinel produce → the agent (real broker)', () => {
  it('sends 40 files as 3 sources; the agent gives every frame its verdict; non-images and oversized files are skipped, named', async () => {
    const topics = agentTopics('produce-');
    created.push(...Object.values(topics));
    await testTopics.admin.createTopics({
      waitForLeaders: true,
      topics: Object.values(topics).map((topic) => ({ topic, numPartitions: 3, configEntries: [{ name: 'max.message.bytes', value: KAFKA_DEFAULT_LIMIT }] })),
    });
    const folder = join(tmp, 'frames');
    mkdirSync(folder);
    for (const name of readdirSync(SAMPLES).sort().slice(0, 40)) copyFileSync(join(SAMPLES, name), join(folder, name));
    writeFileSync(join(folder, 'notes.txt'), 'camera 7 was moved on Tuesday\n');
    writeFileSync(join(folder, 'huge.png'), Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(1_100_000)]));

    const sent = await produce([folder, '--sources', '3', '--source', 'dock', '--topic', topics.frames, '--json']);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stderr).toMatch(/skipped .*notes\.txt: not an image/);
    expect(sent.stderr).toMatch(/skipped .*huge\.png: \d+ bytes, over the topic's limit/);
    const summary = JSON.parse(sent.stdout);
    expect(summary).toMatchObject({ topic: topics.frames, sent: 120, files: 40, sources: ['dock-0', 'dock-1', 'dock-2'] });

    const frames = await collect(kafka, topics.frames, (ms) => ms.length >= 120);
    expect(frames).toHaveLength(120);
    for (const m of frames) {
      expect(m.key?.toString()).toMatch(/^dock-[012]$/);
      expect(header(m, 'content-type')).toBe('image/png');
      expect(header(m, 'frame-id')).toMatch(/^fmnist-test-\d+-\d\.png#[0-9a-z]+\.0$/);
      expect(Math.abs(Number(header(m, 'ts')) - Date.now())).toBeLessThan(120_000);
    }

    const agent = startAgent({ GAIA_KAFKA_GROUP_ID: uniqueName('produce'), ...topicEnv(topics), GAIA_KAFKA_FROM_BEGINNING: 'true' });
    try {
      const verdicts = await collect(kafka, topics.scores, (ms) => ms.length >= 120);
      const got = verdicts.map((m) => {
        const v = JSON.parse(m.value!.toString()) as { source: string; frameId: string };
        return `${v.source}/${v.frameId}`;
      });
      const want = frames.map((m) => `${m.key!.toString()}/${header(m, 'frame-id')}`);
      expect(new Set(got).size).toBe(120);
      expect([...got].sort()).toEqual([...want].sort());
    } finally {
      agent.process.kill('SIGTERM');
      expect(await agent.exited()).toBe(0);
    }
  }, 180_000);

  it('--fps paces the frames; --repeat passes over them again; bad flags are GAIA_BAD_CONFIG (exit 2)', async () => {
    const topic = uniqueName('produce-paced-frames');
    created.push(topic);
    await testTopics.admin.createTopics({ waitForLeaders: true, topics: [{ topic }] });
    const one = join(SAMPLES, readdirSync(SAMPLES).sort()[0]!);
    const started = Date.now();
    const r = await produce([one, '--fps', '20', '--repeat', '10', '--topic', topic]);
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(450); // 10 frames at 20 fps: 9 intervals of 50 ms
    expect(r.stdout).toMatch(/^sent 10 frames \(1 files × 1 source\) to /);
    const frames = await collect(kafka, topic, (ms) => ms.length >= 10);
    const run = /#([0-9a-z]+)\.0$/.exec(header(frames[0]!, 'frame-id') ?? '')?.[1];
    expect(frames.map((m) => header(m, 'frame-id'))).toEqual(Array.from({ length: 10 }, (_, i) => `${one.split('/').pop()}#${run}.${i}`));
    // A second run sends the same file under new ids: frame ids never repeat across runs.
    expect((await produce([one, '--topic', topic])).code).toBe(0);
    const again = await collect(kafka, topic, (ms) => ms.length >= 11);
    expect(header(again.at(-1)!, 'frame-id')).not.toBe(header(frames[0]!, 'frame-id'));
    expect(header(again.at(-1)!, 'frame-id')).toMatch(new RegExp(`^${one.split('/').pop()!.replace('.', '\\.')}#[0-9a-z]+\\.0$`));
    for (const args of [['--fps=-1'], ['--sources', '0'], ['--repeat', 'x']]) {
      const bad = await produce([one, ...args, '--topic', topic]);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stderr).toContain(args[0]!.split('=')[0]);
      expect(bad.stderr).toContain('[GAIA_BAD_CONFIG]');
    }
    const none = await produce([join(tmp, 'does-not-exist')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/does-not-exist cannot be read/);
  }, 120_000);
});
