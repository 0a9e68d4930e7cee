/**
 * The pipeline with a real scorer and an in-memory source: outputs before acknowledgement,
 * bad frames to the DLQ without stalling, drift events, and backpressure on a fast source.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { DriftMonitor } from '../../src/detect/drift.js';
import { type CalibrationFile } from '../../src/calibration/calibration-file.js';
import { judgeOf, loadCalibration } from '../../src/calibration/calibration-check.js';
import { calibrationRef } from '../../src/calibration/calibration-identity.js';
import { openOfflineSession, type OfflineSession } from '../../src/offline/session.js';
import { Judging, type JudgingOptions } from '../../src/judging/judging.js';
import type { AlertEvent, DeadLetter, DriftAlert, VerdictRecord } from '../../src/contracts/events.js';
import { topicMessages } from '../../src/stream/kafka/records.js';
import type { MessageSource, SourceMessage } from '../../src/contracts/stream.js';
import { runPipeline } from '../../src/stream/pipeline.js';
import type { Scorer } from '../../src/runtime/scorer.js';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { assertCloudEvent } from '../helpers/contract.js';
import { AgentMetrics, MetricsRegistry } from '../../src/telemetry/metrics.js';

const SAMPLES = 'models/fmnist-cnn/samples';
let session: OfflineSession;
let calibration: CalibrationFile;

beforeAll(async () => {
  session = await openOfflineSession(loadConfig({ env: {}, overrides: { 'runtime.executionProviders': ['cpu'] } }));
  calibration = await loadCalibration('calibration/fmnist-cnn.json', { model: 'fmnist-cnn', fingerprint: session.fingerprint });
});
afterAll(async () => {
  await session.scorer.close();
});

/** The model side of the pipeline options: preprocessing, the real scorer, and judging with labels and identity. */
const scoring = (judging: Partial<JudgingOptions> = {}) => ({
  pre: session.pre,
  scorer: session.scorer as Scorer,
  judging: new Judging({ labels: session.pkg.manifest.labels, numClasses: session.scorer.numClasses, model: 'fmnist-cnn', fingerprint: session.fingerprint, ...judging }),
});

/** An in-memory source that records what happens to each message. */
class ListSource implements MessageSource {
  readonly log: string[] = [];
  paused = 0;
  constructor(private readonly list: SourceMessage[]) {}
  async *messages() {
    for (const m of this.list) yield m;
  }
  async ack(ms: readonly SourceMessage[]) {
    for (const m of ms) this.log.push(`ack ${m.frameId}`);
  }
  pause() {
    this.paused++;
  }
  resume() {}
  stop() {}
}

function frames(folder: string, count: number, start = 0): SourceMessage[] {
  return readdirSync(join(SAMPLES, folder))
    .sort()
    .slice(0, count)
    .map((name, i) => ({
      source: 'cam',
      frameId: `${folder}/${name}`,
      value: readFileSync(join(SAMPLES, folder, name)),
      headers: { 'content-type': 'image/png' },
      ts: (start + i) * 10,
      origin: { topic: 'frames', partition: 0, offset: String(start + i) },
    }));
}

/** The scorer behind `ms` of extra latency per batch (close() leaves the shared scorer open). */
function slowed(real: Scorer, ms: number): Scorer {
  return {
    heads: real.heads,
    numClasses: real.numClasses,
    executionProvider: real.executionProvider,
    score: async (input, size) => {
      await sleep(ms);
      return real.score(input, size);
    },
    close: async () => {},
  };
}

describe('runPipeline', () => {
  it('hands every batch to the sinks before acknowledging it, and sends bad frames to the DLQ', async () => {
    const bad: SourceMessage = { source: 'cam', frameId: 'bad', value: new Uint8Array([1, 2, 3]), headers: { 'content-type': 'image/jpeg' }, origin: { offset: '99' } };
    const list = [...frames('id', 40), bad, ...frames('ood', 40, 41)];
    const source = new ListSource(list);
    const letters: DeadLetter[] = [];
    const verdicts: string[] = [];
    const stats = await runPipeline({
      source,
      ...scoring({ calibration: { judge: judgeOf('calibration', calibration, 'gaia_z'), ref: calibrationRef(calibration) } }),
      sinks: {
        publish: async ({ events, records, letters: ls }) => {
          if (events.length > 0) source.log.push(`alerts ${events.length}`);
          for (const r of records) verdicts.push(r.frameId);
          if (records.length > 0) source.log.push(`verdicts ${records.length}`);
          letters.push(...ls);
        },
      },
      maxBatch: 16,
      maxWaitMs: 5,
      highWaterMark: 64,
    });
    expect(stats.scored).toBe(80);
    expect(stats.deadLetters).toBe(1);
    expect(letters[0]).toMatchObject({ frameId: 'bad', reason: 'undecodable', offset: '99', key: 'cam' });
    expect(verdicts).toEqual(list.filter((m) => m !== bad).map((m) => m.frameId));
    // Every acknowledgement comes after the sink calls of its batch.
    for (const m of list.filter((x) => x !== bad)) {
      const acked = source.log.indexOf(`ack ${m.frameId}`);
      const written = source.log.findIndex((l, i) => l.startsWith('verdicts') && i < acked);
      expect(written, m.frameId).toBeGreaterThanOrEqual(0);
    }
    expect(source.log.filter((l) => l.startsWith('ack'))).toHaveLength(81);
  });

  it('raises frame-ood alerts and a drift episode when the stream turns out-of-distribution', async () => {
    const run = async () => {
      const events: AlertEvent[] = [];
      const records: VerdictRecord[] = [];
      await runPipeline({
        source: new ListSource([...frames('id', 200), ...frames('ood', 100, 200)]),
        ...scoring({
          calibration: { judge: judgeOf('calibration', calibration, 'gaia_z'), ref: calibrationRef(calibration) },
          drift: () => new DriftMonitor({ window: 100, alpha: 1e-3, p0: calibration.heads.gaia_z!.flagRate, resolveAfterMs: 1000 }),
        }),
        sinks: {
          publish: async (out) => {
            events.push(...out.events);
            records.push(...out.records);
          },
        },
        maxBatch: 32,
        maxWaitMs: 5,
        highWaterMark: 64,
      });
      return { events, records };
    };
    const { events, records } = await run();
    const started = events.filter((e): e is DriftAlert => e.type === 'drift-started');
    expect(started).toHaveLength(1);
    const provenance = { model: 'fmnist-cnn', modelFingerprint: session.fingerprint, calibration: calibrationRef(calibration) };
    expect(started[0]).toMatchObject({ source: 'cam', window: 100, ...provenance });
    expect(started[0]!.ts).toBeGreaterThanOrEqual(2000); // after the first OOD frame (ts 2000)
    expect(started[0]!.trigger).toMatchObject({ topic: 'frames', partition: 0, frameId: expect.stringMatching(/^ood\//) });
    const ood = events.filter((e) => e.type === 'frame-ood');
    expect(ood.length).toBeGreaterThan(90);
    expect(ood[0]).toMatchObject({ ...provenance, threshold: calibration.heads.gaia_z!.rawThreshold });
    for (const r of records) expect(r).toMatchObject(provenance);

    // As records: every one a valid CloudEvent whose data matches its schema; frame-ood only with the opt-in.
    const topics = { alertsTopic: 'alerts', scoresTopic: 'scores', dlqTopic: 'dlq', maxMessageBytes: 1 << 20, eventSource: '/gaia-sentinel/test' };
    const published = topicMessages({ events, records, letters: [] }, topics);
    const alerts = published.find((t) => t.topic === 'alerts')!.messages;
    expect(alerts.map((m) => m.headers!.ce_type)).toEqual(['io.gaia-sentinel.drift.started.v1']);
    const optedIn = topicMessages({ events, records, letters: [] }, { ...topics, frameOodOnAlerts: true }).find((t) => t.topic === 'alerts')!.messages;
    expect(optedIn).toHaveLength(ood.length + 1);
    const ids = new Set<string>();
    for (const t of topicMessages({ events, records, letters: [] }, { ...topics, frameOodOnAlerts: true })) {
      for (const m of t.messages) {
        const e = assertCloudEvent({ key: m.key as string, value: m.value as string, headers: m.headers! }, t.topic);
        ids.add(e.id);
      }
    }
    expect(ids.size).toBe(records.length + ood.length + 1); // ids are unique

    // The same input again: the same event ids (what consumers deduplicate redeliveries by).
    const again = await run();
    const idsOf = (o: { events: AlertEvent[]; records: VerdictRecord[] }) =>
      topicMessages({ ...o, letters: [] }, { ...topics, frameOodOnAlerts: true }).flatMap((t) => t.messages.map((m) => `${t.topic} ${String(m.headers!.ce_id)}`));
    expect(idsOf(again)).toEqual(idsOf({ events, records }));
  });

  it('pauses a source that outruns the scorer', async () => {
    const source = new ListSource(frames('id', 300));
    // The real scorer behind 40 ms of extra latency per batch: decoding now outruns it.
    const slow = slowed(session.scorer, 40);
    const stats = await runPipeline({
      source,
      ...scoring(),
      scorer: slow,
      sinks: { publish: async () => {} },
      maxBatch: 8,
      maxWaitMs: 5,
      highWaterMark: 16,
    });
    expect(stats.scored).toBe(300);
    expect(source.paused).toBeGreaterThan(0);
    // Tensors are reused, not allocated per frame: at most the frames held at once (the high
    // water mark, plus the 4 decoding), and two batches (the worker thread hands each back).
    expect(stats.tensorsAllocated!.frames).toBeLessThanOrEqual(16 + 4);
    expect(stats.tensorsAllocated!.batches).toBeLessThanOrEqual(2);
  });
  it("reports its queues, backpressure pauses and the stage of a failed delivery to the agent's metrics", async () => {
    const registry = new MetricsRegistry();
    const metrics = new AgentMetrics(registry, { model: 'fmnist-cnn', allowSources: [], topKSources: 10 });
    const value = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    const slow = slowed(session.scorer, 40);
    // While the slow scorer holds the pipeline back, a scrape sees frames queued and fetching paused.
    let busiest = 0;
    let pausedSeen = 0;
    const scrapes = setInterval(() => {
      void registry.metrics().then((text) => {
        busiest = Math.max(busiest, value(text, 'gaia_pipeline_queued_frames{stage="scoring"}'));
        pausedSeen = Math.max(pausedSeen, value(text, 'gaia_source_paused'));
      });
    }, 10);
    const run = { ...scoring(), scorer: slow, maxBatch: 8, maxWaitMs: 5, highWaterMark: 16, observer: metrics };
    await runPipeline({ ...run, source: new ListSource(frames('id', 200)), sinks: { publish: async () => {} } });
    clearInterval(scrapes);
    let text = await registry.metrics();
    expect(busiest).toBeGreaterThanOrEqual(8);
    expect(busiest).toBeLessThanOrEqual(16 + 8); // the high-water mark, plus the batch being scored
    expect(pausedSeen).toBe(1);
    expect(value(text, 'gaia_source_pauses_total')).toBeGreaterThan(0);
    for (const stage of ['decoding', 'scoring', 'delivering']) expect(value(text, `gaia_pipeline_queued_frames{stage="${stage}"}`), stage).toBe(0);
    expect(value(text, 'gaia_source_paused')).toBe(0);

    // The brokers refuse the outputs, then (another run) the offsets.
    await expect(runPipeline({ ...run, source: new ListSource(frames('id', 8)), sinks: { publish: async () => Promise.reject(new Error('outputs refused')) } })).rejects.toThrow('outputs refused');
    const refusing = new ListSource(frames('id', 8));
    refusing.ack = async () => Promise.reject(new Error('commit refused'));
    await expect(runPipeline({ ...run, source: refusing, sinks: { publish: async () => {} } })).rejects.toThrow('commit refused');
    text = await registry.metrics();
    expect(value(text, 'gaia_delivery_failures_total{stage="publish"}')).toBe(1);
    expect(value(text, 'gaia_delivery_failures_total{stage="commit"}')).toBe(1);
    expect(value(text, 'gaia_delivery_failures_total{stage="transaction"}')).toBe(0);
  });

  it('decodes several frames at once but hands them on in arrival order', async () => {
    // Large JPEGs (resampled by sharp, slow) between small PNGs (decoded directly, fast):
    // decodes finish out of order, verdicts and dead letters must not.
    const big = await sharp({ create: { width: 1600, height: 1200, channels: 3, background: { r: 90, g: 40, b: 200 } } }).jpeg().toBuffer();
    const pngs = frames('id', 24);
    const list: SourceMessage[] = [];
    pngs.forEach((m, i) => {
      list.push(m);
      if (i % 4 === 0) list.push({ ...m, frameId: `big-${i}`, value: big, headers: { 'content-type': 'image/jpeg' } });
      if (i % 8 === 3) list.push({ ...m, frameId: `bad-${i}`, value: new Uint8Array([0xff, 0xd8, 0]), headers: { 'content-type': 'image/jpeg' } });
    });
    const verdicts: string[] = [];
    const letters: string[] = [];
    await runPipeline({
      source: new ListSource(list),
      ...scoring(),
      sinks: {
        publish: async (out) => {
          verdicts.push(...out.records.map((r) => r.frameId));
          letters.push(...out.letters.map((l) => l.frameId));
        },
      },
      maxBatch: 4,
      maxWaitMs: 5,
      highWaterMark: 16,
      decodeConcurrency: 8,
    });
    // (A dead letter may overtake verdicts still waiting for their batch: each stream keeps its order.)
    expect(verdicts).toEqual(list.filter((m) => !m.frameId.startsWith('bad')).map((m) => m.frameId));
    expect(letters).toEqual(['bad-3', 'bad-11', 'bad-19']);
  });

  it('scores frames that arrived even while the source has nothing more for a while', async () => {
    const three = frames('id', 3);
    const scoredAt: number[] = [];
    let quietSince = 0;
    const source: MessageSource = {
      async *messages() {
        yield* three;
        quietSince = performance.now();
        await sleep(400); // a quiet topic: no message, no end
      },
      ack: async () => {},
      pause: () => {},
      resume: () => {},
      stop: () => {},
    };
    await runPipeline({
      source,
      ...scoring(),
      sinks: { publish: async (out) => void scoredAt.push(...out.records.map(() => performance.now())) },
      maxBatch: 32,
      maxWaitMs: 5,
      highWaterMark: 64,
      decodeConcurrency: 8,
    });
    expect(scoredAt).toHaveLength(3);
    for (const t of scoredAt) expect(t - quietSince).toBeLessThan(300);
  });
});
