/**
 * End-to-end throughput and latency of the agent through a real Kafka broker, next to the
 * raw scoring throughput of the same model and batch size, in one run.
 *
 *   bash scripts/kafka/broker.sh start            # or KAFKA_BROKERS=host:port
 *   npm run build && node dist/bench/e2e-kafka.js --model models/fmnist-resnet18 --batches 8,32,128 --frames 3000 --repeat 3
 *
 * Throughput: a backlog of frames is produced first, then the agent drains it; frames/s is
 * measured between the first and the last verdict on the scores topic. The benchmark only
 * polls the topic's end offsets while the agent works and reads the verdicts afterwards, so
 * its own consumer does not compete for the CPU. The CPU time the agent and a local broker
 * spend per frame in that window is reported too (from /proc). Latency: frames are then
 * produced at 60% of that rate with their send time in the `ts` header; latency is from
 * there to the verdict's send to the brokers (the scores record's CreateTime; a
 * read_committed reader sees exactly-once verdicts only at their transaction's commit).
 * Raw: the WorkerScorer alone on pre-decoded batches, measured right before and right
 * after each end-to-end run (their mean).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import kafkajs from 'kafkajs';
import type { KafkaMessage, Message } from 'kafkajs';
import { DEFAULT_HEADS } from '../src/compile/heads.js';
import { loadConfig } from '../src/config/load.js';
import type { InputMeasure } from '../src/contracts/input-stats.js';
import { decodeMeasured } from '../src/frames/frame-decoder.js';
import { sniffFormat } from '../src/frames/sniff.js';
import { openOfflineSession } from '../src/offline/session.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/fmnist-resnet18' },
    batches: { type: 'string', default: '8,32,128' },
    frames: { type: 'string', default: '3000' },
    repeat: { type: 'string', default: '1' },
    'exactly-once': { type: 'boolean', default: false },
    brokers: { type: 'string', default: process.env.KAFKA_BROKERS ?? '127.0.0.1:19092' },
  },
});
const brokers = values.brokers!.split(',');
// The agent reads GAIA_MODEL_GAIA_Z_MODE from the environment; the raw scorer follows it.
const gaiaZMode = process.env.GAIA_MODEL_GAIA_Z_MODE === 'float' ? 'float' : 'pattern';
const N = Number(values.frames);
const kafka = new kafkajs.Kafka({ clientId: 'gaia-bench', brokers, logLevel: kafkajs.logLevel.NOTHING });
const name = (kind: string) => `gaia-bench-${kind}-${randomBytes(4).toString('hex')}`;
const pngs = readdirSync(join(values.model!, 'samples', 'id'))
  .sort()
  .map((n) => readFileSync(join(values.model!, 'samples', 'id', n)));

/**
 * The input statistics the agent's decode stage measures (camera.inputStatistics, as the agent
 * reads GAIA_CAMERA_INPUT_STATISTICS): on, every input head, as a calibration whose rule names
 * input heads (the default rule) has it; auto, with no calibration in the package (the bench
 * packages have none), only the frozen check's fingerprint; off, nothing.
 */
const statistics = process.env.GAIA_CAMERA_INPUT_STATISTICS ?? 'auto';
const measure: InputMeasure = statistics === 'on' ? 'full' : statistics === 'off' ? 'none' : 'frozen';
const contentType = (b: Uint8Array) => (sniffFormat(b) === 'jpeg' ? 'image/jpeg' : 'image/png');

async function rawScoring(batch: number): Promise<{ fps: number; cpuMs: number; decodeCpuMs: number; modelDecodeCpuMs: number }> {
  // The agent's default heads, so raw and end-to-end score the same graph.
  // GAIA_SPIN_WAIT, as the agent reads it, so raw and end-to-end run the same session options.
  const env = process.env.GAIA_SPIN_WAIT === undefined ? {} : { GAIA_SPIN_WAIT: process.env.GAIA_SPIN_WAIT };
  const session = await openOfflineSession(loadConfig({ env, overrides: { 'model.dir': values.model, 'runtime.executionProviders': ['cpu'], 'model.gaiaZMode': gaiaZMode } }), { heads: DEFAULT_HEADS });
  const per = session.pre.elementsPerFrame;
  const decoded = new Float32Array(batch * per);
  for (let i = 0; i < batch; i++) await session.pre.decodeInto(pngs[i % pngs.length]!, decoded.subarray(i * per, (i + 1) * per));
  await session.scorer.score(decoded.slice(), batch);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage(); // the whole process, the scoring worker thread included
  let done = 0;
  while (done < N) {
    await session.scorer.score(decoded.slice(), batch);
    done += batch;
  }
  const fps = done / ((performance.now() - t0) / 1000);
  const cpu = process.cpuUsage(cpu0);
  // Decoding alone, one frame at a time through the same preprocessing and input statistics
  // as the agent's decode stage: the other part of what the agent must spend per frame
  // (agent / (decode + raw) is its overhead); and the model's decode without the statistics.
  const frame = new Float32Array(per);
  const decodeFrames = Math.min(N, 4 * pngs.length);
  const cpuOf = async (fn: (f: Buffer) => Promise<unknown>) => {
    const c0 = process.cpuUsage();
    for (let i = 0; i < decodeFrames; i++) await fn(pngs[i % pngs.length]!);
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000 / decodeFrames;
  };
  const decodeCpuMs = await cpuOf((f) => decodeMeasured(session.pre, f, {}, frame, measure));
  const modelDecodeCpuMs = await cpuOf((f) => session.pre.decodeInto(f, frame));
  await session.scorer.close();
  return { fps, cpuMs: (cpu.user + cpu.system) / 1000 / done, decodeCpuMs, modelDecodeCpuMs };
}

async function produce(topic: string, count: number, fps: number): Promise<void> {
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  // 20 sends/s when paced; a backlog in sends of at most ~4 MiB (camera frames are ~200 KiB).
  const largest = Math.max(...pngs.map((p) => p.length));
  const chunk = fps > 0 ? Math.max(1, Math.round(fps / 20)) : Math.max(1, Math.min(250, Math.floor((4 << 20) / largest)));
  const t0 = Date.now();
  for (let i = 0; i < count; i += chunk) {
    if (fps > 0) {
      const due = t0 + (i / fps) * 1000;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
    const messages: Message[] = [];
    for (let j = i; j < Math.min(count, i + chunk); j++) {
      messages.push({ key: `cam-${j % 4}`, value: pngs[j % pngs.length]!, headers: { 'content-type': contentType(pngs[j % pngs.length]!), 'frame-id': `f-${j}`, ts: String(Date.now()) } });
    }
    await producer.send({ topic, acks: -1, messages });
  }
  await producer.disconnect();
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return Number.NaN;
  }
}

/** The local Kafka broker's pid, if one runs on this machine. */
function brokerPid(): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('kafka.Kafka')) return Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  return undefined;
}

async function recordsIn(admin: kafkajs.Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high), 0);
}

/**
 * Waits, polling end offsets only, until `count` records are on the topic; returns the CPU
 * the given processes used per record between the first record and the last.
 */
async function drain(admin: kafkajs.Admin, topic: string, count: number, pids: Record<string, number | undefined>): Promise<Record<string, number>> {
  let start: { records: number; cpu: Record<string, number> } | undefined;
  for (;;) {
    const records = await recordsIn(admin, topic);
    const cpu = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
    if (!start && records > 0) start = { records, cpu };
    if (records >= count) {
      const frames = records - start!.records;
      return Object.fromEntries(Object.keys(pids).map((k) => [k, ((cpu[k]! - start!.cpu[k]!) / frames) * 1000]));
    }
    await sleep(50);
  }
}

/** Capture time (ts header), scoring time, and when the verdict was sent to the brokers (the record's CreateTime). */
async function verdicts(topic: string, count: number): Promise<Array<{ ts: number; scoredAt: number; sentAt: number }>> {
  const consumer = kafka.consumer({ groupId: name('reader') });
  const out: Array<{ ts: number; scoredAt: number; sentAt: number }> = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }: { message: KafkaMessage }) => {
        const v = JSON.parse(message.value!.toString());
        out.push({ ts: v.capturedAt ?? Number.NaN, scoredAt: v.scoredAt, sentAt: Number(message.timestamp) });
        if (out.length >= count) resolve();
      },
    });
  });
  await consumer.disconnect();
  return out;
}

async function endToEnd(batch: number): Promise<{ fps: number; p50: number; p99: number; cpu: Record<string, number> }> {
  const admin = kafka.admin();
  await admin.connect();
  const frames = name('frames');
  const scores = name('scores');
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: frames, numPartitions: 4 }, { topic: scores }, { topic: name('alerts') }, { topic: name('dlq') }] });
  await produce(frames, N, 0); // backlog
  const agent = spawn(process.execPath, [...(process.env.GAIA_BENCH_AGENT_NODE_ARGS ?? '').split(' ').filter(Boolean), 'bin/gaia-sentinel.js', 'run'], {
    env: {
      ...process.env,
      GAIA_SOURCE: 'kafka',
      GAIA_MODEL_DIR: values.model,
      GAIA_KAFKA_BROKERS: brokers.join(','),
      GAIA_KAFKA_GROUP_ID: name('agent'),
      GAIA_KAFKA_FRAMES_TOPIC: frames,
      GAIA_KAFKA_SCORES_TOPIC: scores,
      GAIA_EXECUTION_PROVIDERS: 'cpu',
      GAIA_MAX_BATCH: String(batch),
      GAIA_HIGH_WATER_MARK: String(Math.max(256, 4 * batch)),
      GAIA_LOG_LEVEL: 'warn',
      ...(values['exactly-once'] ? { GAIA_KAFKA_EXACTLY_ONCE: 'true', GAIA_KAFKA_TRANSACTIONAL_ID: name('tx') } : {}),
    },
    stdio: 'ignore',
  });
  const cpu = await drain(admin, scores, N, { agent: agent.pid, broker: brokerPid() });
  const backlog = await verdicts(scores, N);
  const times = backlog.map((v) => v.scoredAt).sort((a, b) => a - b);
  const fps = (N - 1) / ((times[N - 1]! - times[0]!) / 1000);
  // Latency at 60 % of the measured capacity, on the warm agent.
  const paced = Math.min(N, Math.round(fps * 0.6 * 10)); // ~10 s of traffic
  await produce(frames, paced, fps * 0.6);
  const all = await verdicts(scores, N + paced);
  // Capture to the verdict leaving for the brokers (so merged deliveries and their waits count).
  const latencies = all.slice(N).map((v) => v.sentAt - v.ts).sort((a, b) => a - b);
  agent.kill('SIGTERM');
  await new Promise((r) => agent.once('exit', r));
  await admin.deleteTopics({ topics: [frames, scores] }).catch(() => {});
  await admin.disconnect();
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  return { fps, p50: q(0.5), p99: q(0.99), cpu };
}

console.log(`model ${values.model}, ${N} frames per measurement, broker ${brokers.join(',')}, ${values['exactly-once'] ? 'exactly-once' : 'at-least-once'}, input statistics ${statistics} (${measure})`);
console.log('| batch | raw scoring frames/s | end-to-end frames/s | e2e / raw | latency p50 ms | latency p99 ms | raw CPU ms/frame | decode CPU ms/frame | agent CPU ms/frame | agent / (decode + raw) | broker CPU ms/frame | model decode alone CPU ms/frame |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
// Each repeat measures raw, end-to-end, raw again back to back (raw = the mean of the two),
// so that each ratio compares runs made under the same machine conditions; the median ratio
// per batch size closes the table.
const ms = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(2));
const medians: string[] = [];
for (const batch of values.batches!.split(',').map(Number)) {
  const ratios: number[] = [];
  for (let r = 0; r < Number(values.repeat); r++) {
    // Raw right before and right after: the machine's speed drifts between runs here.
    const before = await rawScoring(batch);
    const e2e = await endToEnd(batch);
    const after = await rawScoring(batch);
    const mean = (k: 'fps' | 'cpuMs' | 'decodeCpuMs' | 'modelDecodeCpuMs') => (before[k] + after[k]) / 2;
    const raw = { fps: mean('fps'), cpuMs: mean('cpuMs'), decodeCpuMs: mean('decodeCpuMs'), modelDecodeCpuMs: mean('modelDecodeCpuMs') };
    ratios.push(e2e.fps / raw.fps);
    console.log(
      `| ${batch} | ${raw.fps.toFixed(0)} | ${e2e.fps.toFixed(0)} | ${(e2e.fps / raw.fps).toFixed(2)} | ${e2e.p50.toFixed(0)} | ${e2e.p99.toFixed(0)} | ${ms(raw.cpuMs)} | ${ms(raw.decodeCpuMs)} | ${ms(e2e.cpu.agent)} | ${((e2e.cpu.agent ?? Number.NaN) / (raw.decodeCpuMs + raw.cpuMs)).toFixed(2)} | ${ms(e2e.cpu.broker)} | ${ms(raw.modelDecodeCpuMs)} |`,
    );
  }
  ratios.sort((a, b) => a - b);
  const mid = ratios.length >> 1;
  const median = ratios.length % 2 ? ratios[mid]! : (ratios[mid - 1]! + ratios[mid]!) / 2;
  medians.push(`batch ${batch}: ${median.toFixed(2)} (${ratios.map((x) => x.toFixed(2)).join(', ')})`);
}
console.log(`\nmedian e2e / raw per batch size: ${medians.join('; ')}`);
