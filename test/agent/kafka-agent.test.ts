/**
 * The agent end to end on the real broker: `gaia-sentinel run` with the Kafka source, as a
 * child process. Two cameras stream frames (one goes in-distribution → out → back in),
 * poison messages are mixed in; every good frame gets a verdict, drift starts and resolves
 * for the drifting camera only, every poison message reaches the DLQ with its reason, and
 * SIGTERM ends the agent cleanly with all offsets committed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Admin, KafkaMessage, Message } from 'kafkajs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertValid, headerTexts } from '../helpers/contract.js';
import { agentTopics, collect as collectTopic, startAgent, testKafka, topicEnv, type Agent } from '../helpers/kafka-agent.js';
import { uniqueName } from '../setup/kafka-context.js';

const { Partitioners } = kafkajs;
const ROOT = join(import.meta.dirname, '..', '..');
const SAMPLES = join(ROOT, 'models', 'fmnist-cnn', 'samples');
const FRAME_MAX_BYTES = 200_000;

const topics = agentTopics();
const groupId = uniqueName('agent');
const kafka = testKafka('gaia-test-agent');
const collect = (topic: string, done: (ms: KafkaMessage[]) => boolean) => collectTopic(kafka, topic, done);

function pngs(folder: string): Buffer[] {
  return readdirSync(join(SAMPLES, folder))
    .sort()
    .map((n) => readFileSync(join(SAMPLES, folder, n)));
}

function header(m: KafkaMessage, name: string): string | undefined {
  const h = m.headers?.[name];
  return h === undefined ? undefined : String(Array.isArray(h) ? h[0] : h);
}

describe('gaia-sentinel run --source kafka (real broker)', () => {
  let admin: Admin;
  let agent: Agent;
  const expectedFrames = new Set<string>();
  const poison = new Map<string, string>(); // frame id → expected DLQ reason

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: topics.frames, numPartitions: 2, configEntries: [{ name: 'max.message.bytes', value: String(8 * 1024 * 1024) }] },
        { topic: topics.alerts, numPartitions: 1 },
        { topic: topics.scores, numPartitions: 1 },
        { topic: topics.dlq, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: String(8 * 1024 * 1024) }] },
      ],
    });
    const id = pngs('id');
    const ood = pngs('ood');
    const messages: Message[] = [];
    let ts = 1_700_000_000_000;
    const frame = (source: string, frameId: string, value: Buffer, headers: Record<string, string> = { 'content-type': 'image/png' }) => {
      messages.push({ key: source, value, headers: { ...headers, 'frame-id': frameId, ts: String((ts += 10)) } });
    };
    // cam-a: 150 ID, 150 OOD, 600 ID frames; cam-b: 300 ID frames, interleaved. The CUSUM, capped
    // at h plus one window's mean fall while the episode is open, takes 140–220 of these ID frames
    // to fall back below h (the samples flag 5.9 % against p0 5.2 %: it falls slower than on a
    // stream at p0), then the hysteresis about 100 more.
    for (let i = 0; i < 900; i++) {
      const a = i >= 150 && i < 300 ? ood[i % ood.length]! : id[i % id.length]!;
      frame('cam-a', `a-${i}`, a);
      expectedFrames.add(`a-${i}`);
      if (i < 300) {
        frame('cam-b', `b-${i}`, id[(i * 7) % id.length]!);
        expectedFrames.add(`b-${i}`);
      }
    }
    const jpeg = await sharp(id[0]!).jpeg().toBuffer();
    const bomb = await sharp({ create: { width: 8000, height: 8000, channels: 3, background: '#000' } }).png().toBuffer();
    const bad: Array<[string, Buffer, Record<string, string>, string]> = [
      ['p-corrupt-jpeg', jpeg.subarray(0, 60), { 'content-type': 'image/jpeg' }, 'undecodable'],
      ['p-truncated-png', id[1]!.subarray(0, id[1]!.length / 2), { 'content-type': 'image/png' }, 'undecodable'],
      ['p-wrong-raw-size', Buffer.alloc(100), { 'content-type': 'application/octet-stream', 'x-shape': '28x28x1', 'x-dtype': 'uint8' }, 'bad-raw-frame'],
      ['p-too-large', Buffer.alloc(FRAME_MAX_BYTES + 1), { 'content-type': 'image/png' }, 'too-large'],
      ['p-bomb', bomb, { 'content-type': 'image/png' }, 'too-many-pixels'],
      ['p-unknown-type', Buffer.from('{"hello":"world"}'), { 'content-type': 'application/json' }, 'unsupported-content-type'],
    ];
    bad.forEach(([frameId, value, headers, reason], i) => {
      frame(i % 2 ? 'cam-a' : 'cam-b', frameId, value, headers);
      poison.set(frameId, reason);
    });
    // What the test sends as good frames is within the documented input contract; the poison is not always.
    for (const m of messages) {
      const frameId = (m.headers as Record<string, string>)['frame-id']!;
      if (!poison.has(frameId)) assertValid('frame-input', { key: m.key, headers: m.headers }, `input ${frameId}`);
    }
    expect(() => assertValid('frame-input', { key: 'cam-a', headers: { 'content-type': 'application/json' } }, 'p-unknown-type')).toThrow(/content-type/);
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    for (let i = 0; i < messages.length; i += 100) await producer.send({ topic: topics.frames, acks: -1, messages: messages.slice(i, i + 100) });
    await producer.disconnect();

    agent = startAgent({
      GAIA_KAFKA_GROUP_ID: groupId,
      ...topicEnv(topics),
      GAIA_FRAME_MAX_BYTES: String(FRAME_MAX_BYTES),
      GAIA_FRAME_MAX_PIXELS: '10000000',
      GAIA_DRIFT_WINDOW: '100',
      GAIA_DRIFT_RESOLVE_AFTER_MS: '1000',
    });
  });

  afterAll(async () => {
    if (agent && agent.process.exitCode === null) agent.process.kill('SIGKILL');
    await admin?.deleteTopics({ topics: Object.values(topics) }).catch(() => {});
    await admin?.disconnect();
  });

  it('gives every good frame a verdict on the scores topic', async () => {
    const verdicts = await collect(topics.scores, (ms) => new Set(ms.map((m) => JSON.parse(m.value!.toString()).frameId)).size >= expectedFrames.size);
    const ids = new Set(verdicts.map((m) => JSON.parse(m.value!.toString()).frameId as string));
    expect(ids).toEqual(expectedFrames);
  });

  it('starts a drift episode for the drifting camera only, and resolves it when the camera is back in distribution', async () => {
    const alerts = await collect(topics.alerts, (ms) => ms.some((m) => header(m, 'ce_type') === 'io.gaia-sentinel.drift.resolved.v1'));
    // Per-frame frame-ood events stay off the alerts topic by default: only the episode is there.
    expect(alerts.map((m) => `${header(m, 'ce_type')} ${m.key!.toString()}`)).toEqual(['io.gaia-sentinel.drift.started.v1 cam-a', 'io.gaia-sentinel.drift.resolved.v1 cam-a']);
    const drift = alerts.map((m) => JSON.parse(m.value!.toString()));
    // Whichever statistic opened it was past its threshold: the flag count (binomial tail) or the p-value CUSUM.
    if (drift[0].statistic === 'p-value-cusum') expect(drift[0].cusum).toBeGreaterThanOrEqual(drift[0].cusumThreshold);
    else expect(drift[0].pValue).toBeLessThan(1e-3);
    expect(drift[0]).toMatchObject({ model: 'fmnist-cnn', trigger: { topic: topics.frames, frameId: expect.stringMatching(/^a-/) } });
    expect(drift[0].calibration.digest).toMatch(/^[0-9a-f]{64}$/);
    // The flagged frames are on the scores topic.
    const verdicts = await collect(topics.scores, (ms) => ms.length >= expectedFrames.size);
    const flagged = verdicts.map((m) => JSON.parse(m.value!.toString())).filter((v) => v.flagged);
    expect(flagged.filter((v) => v.source === 'cam-a').length).toBeGreaterThan(140);
  });

  it('sends every poison message to the DLQ with its reason, original value and origin', async () => {
    const letters = await collect(topics.dlq, (ms) => ms.length >= poison.size);
    const byId = new Map(letters.map((m) => [header(m, 'frame-id')!, m]));
    for (const [frameId, reason] of poison) {
      const m = byId.get(frameId);
      expect(m, frameId).toBeDefined();
      expect(header(m!, 'x-error-reason'), frameId).toBe(reason);
      expect(header(m!, 'x-source-topic')).toBe(topics.frames);
      expect(Number(header(m!, 'x-source-offset'))).toBeGreaterThanOrEqual(0);
    }
    expect(byId.get('p-unknown-type')!.value!.toString()).toBe('{"hello":"world"}');
  });

  it('serves /metrics with per-source counts and drift, and /readyz while connected', async () => {
    const url = await agent.telemetry();
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toMatch(/gaia_frames_total\{model="fmnist-cnn",source="cam-b",verdict="id"\} \d+/);
    expect(text).toMatch(/gaia_frames_total\{model="fmnist-cnn",source="cam-a",verdict="ood"\} \d+/);
    expect(text).toContain('gaia_dead_letters_total{reason="too-many-pixels",source="cam-b"} 1');
    expect(text).toMatch(/gaia_drift_active\{model="fmnist-cnn",source="cam-a"\} 0/); // resolved by now
    expect(text).toContain('execution_provider="cpu"');
    // Lag counts frames not yet committed, and commits are coalesced (kafka.commitIntervalMs,
    // 1 s): the agent is caught up once its next commit lands.
    const deadline = Date.now() + 15_000;
    let lagText = text;
    while (!/gaia_consumer_lag\{partition="[01]"\} 0/.test(lagText) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      lagText = await (await fetch(`${url}/metrics`)).text();
    }
    expect(lagText).toMatch(/gaia_consumer_lag\{partition="[01]"\} 0/); // caught up
  });

  it('exits 0 on SIGTERM with every offset committed', async () => {
    agent.process.kill('SIGTERM');
    const code = await agent.exited();
    expect(code, agent.stderr().slice(-2000)).toBe(0);
    expect(agent.stderr()).toContain('shutting down');
    const ends = await admin.fetchTopicOffsets(topics.frames);
    expect(ends.reduce((a, p) => a + Number(p.high), 0)).toBe(expectedFrames.size + poison.size);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topics.frames] });
    for (const p of ends) {
      expect(committed!.partitions.find((c) => c.partition === p.partition)!.offset, `partition ${p.partition}`).toBe(p.high);
    }
  });

  it('gives the same event ids when the same input is consumed again (as after a redelivery), and prints what it publishes with --json', async () => {
    // The group starts over from the beginning and publishes to fresh output topics, with a
    // fresh drift changelog as a new deployment would (the group's own changelog would keep
    // the windows, and frames it already counted are not counted again); frame-ood events are
    // opted in on the alerts topic this time, and --json prints what is published.
    await admin.deleteGroups([groupId]);
    const again = agentTopics('again-');
    await admin.createTopics({ waitForLeaders: true, topics: [again.alerts, again.scores, again.dlq].map((topic) => ({ topic, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: String(8 * 1024 * 1024) }] })) });
    const second = startAgent({
      GAIA_KAFKA_GROUP_ID: groupId,
      ...topicEnv({ ...again, frames: topics.frames }),
      GAIA_KAFKA_FRAME_OOD_ON_ALERTS: 'true',
      GAIA_FRAME_MAX_BYTES: String(FRAME_MAX_BYTES),
      GAIA_FRAME_MAX_PIXELS: '10000000',
      GAIA_DRIFT_WINDOW: '100',
      GAIA_DRIFT_RESOLVE_AFTER_MS: '1000',
      GAIA_DRIFT_CHANGELOG_TOPIC: `${again.alerts}-changelog`,
    }, ['--json']);
    try {
      const ids = (ms: KafkaMessage[], type: string) => [...new Set(ms.filter((m) => header(m, 'ce_type') === type).map((m) => header(m, 'ce_id')!))].sort();
      const firstVerdicts = await collect(topics.scores, (ms) => ms.length >= expectedFrames.size);
      const secondVerdicts = await collect(again.scores, (ms) => ms.length >= expectedFrames.size);
      expect(ids(secondVerdicts, 'io.gaia-sentinel.frame.scored.v1')).toEqual(ids(firstVerdicts, 'io.gaia-sentinel.frame.scored.v1'));
      const firstAlerts = await collect(topics.alerts, (ms) => ms.length >= 2);
      const secondAlerts = await collect(again.alerts, (ms) => ms.some((m) => header(m, 'ce_type') === 'io.gaia-sentinel.drift.resolved.v1'));
      for (const type of ['io.gaia-sentinel.drift.started.v1', 'io.gaia-sentinel.drift.resolved.v1']) {
        expect(ids(secondAlerts, type), type).toEqual(ids(firstAlerts, type));
        expect(ids(secondAlerts, type)).toHaveLength(1);
      }
      // Opted in: one frame-ood per flagged verdict, each with its own id.
      const flagged = secondVerdicts.filter((m) => JSON.parse(m.value!.toString()).flagged).length;
      const all = await collect(again.alerts, (ms) => ms.filter((m) => header(m, 'ce_type') === 'io.gaia-sentinel.frame.ood.v1').length >= flagged);
      const ood = ids(all, 'io.gaia-sentinel.frame.ood.v1');
      expect(ood).toHaveLength(flagged);
      expect(new Set(ood).size).toBe(flagged);

      // --json printed exactly the records the topics hold (a line once the brokers have it).
      const dlq = await collect(again.dlq, (ms) => ms.length >= poison.size);
      const read = [...all.map((m) => ['alerts', m] as const), ...secondVerdicts.map((m) => ['scores', m] as const), ...dlq.map((m) => ['dlq', m] as const)];
      const printed = second.stdout().trimEnd().split('\n').map((l) => JSON.parse(l) as { topic: string; key: string; headers: Record<string, string>; value: unknown });
      const asTopic = { alerts: again.alerts, scores: again.scores, dlq: again.dlq };
      const show = (topic: string, key: string, headers: Record<string, string>) => `${topic} ${key} ${headers.ce_id ?? headers['frame-id']} ${headers.ce_type ?? headers['x-error-reason']}`;
      // (It also prints the drift changelog's records, the agent's own state: compared here are the output topics.)
      const outputs = printed.filter((l) => Object.values(asTopic).includes(l.topic));
      expect(printed.filter((l) => !outputs.includes(l)).every((l) => l.topic === `${again.alerts}-changelog`)).toBe(true);
      expect(new Set(outputs.map((l) => show(l.topic, l.key, l.headers)))).toEqual(new Set(read.map(([t, m]) => show(asTopic[t], m.key!.toString(), headerTexts(m)))));
      const started = printed.find((l) => l.headers.ce_type === 'io.gaia-sentinel.drift.started.v1')!;
      expect(JSON.stringify(started.value)).toBe(all.find((m) => header(m, 'ce_type') === 'io.gaia-sentinel.drift.started.v1')!.value!.toString());
    } finally {
      second.process.kill('SIGTERM');
      await second.exited();
      await admin.deleteTopics({ topics: [again.alerts, again.scores, again.dlq] }).catch(() => {});
    }
  });
});
