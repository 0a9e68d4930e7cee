/**
 * Soak: the agent under mixed, partly hostile traffic for a long run on the real broker,
 * with one SIGKILL and one broker outage in the middle (issue #10). Not a test: it reports.
 *
 *   bash scripts/kafka/broker.sh start            # a broker this checkout started (for the outage)
 *   npm run build && node dist/bench/soak.js --minutes 10 --fps 40
 *
 * Traffic: frames from ≥ 1 000 distinct cameras (keys), ~5 % hostile: SVGs labelled as PNG,
 * 2 MB undecodable frames, 40 kB frame ids, null keys, binary headers, `ts` of −1e300,
 * 4 kB keys. Output topics at Kafka's default 1 MB max.message.bytes. At 40 % of the run the
 * agent is killed with SIGKILL and restarted; at 60 % the broker is stopped for 20 s.
 * At the end: every input offset must have a verdict or a dead letter (0 lost), duplicates
 * are counted (at-least-once), and RSS and the /metrics size are sampled every 10 s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import kafkajs from 'kafkajs';
import type { Message } from 'kafkajs';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    fps: { type: 'string', default: '40' },
    sources: { type: 'string', default: '1200' },
    brokers: { type: 'string', default: process.env.KAFKA_BROKERS ?? '127.0.0.1:19092' },
  },
});
const ROOT = process.cwd();
const brokers = values.brokers!.split(',');
const minutes = Number(values.minutes);
const fps = Number(values.fps);
const SOURCES = Number(values.sources);
const kafka = new kafkajs.Kafka({ clientId: 'gaia-soak', brokers, logLevel: kafkajs.logLevel.NOTHING, retry: { retries: 30 } });
const name = (kind: string) => `gaia-soak-${kind}-${randomBytes(4).toString('hex')}`;
const topics = { frames: name('frames'), alerts: name('alerts'), scores: name('scores'), dlq: name('dlq') };
const pngs = ['id', 'ood'].flatMap((sub) => readdirSync(join(ROOT, 'models/fmnist-cnn/samples', sub)).sort().map((n) => readFileSync(join(ROOT, 'models/fmnist-cnn/samples', sub, n))));

function svg(): Buffer {
  let defs = '<g id="a0"><rect width="1" height="1" fill="#fff"/></g>';
  for (let l = 1; l <= 5; l++) defs += `<g id="a${l}">${Array.from({ length: 10 }, () => `<use xlink:href="#a${l - 1}"/>`).join('')}</g>`;
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="28" height="28"><defs>${defs}</defs><use xlink:href="#a5"/></svg>`);
}
const SVG = svg();
const BIG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(2 * 1024 * 1024)]);

/** Message i of the stream: ~5 % hostile, in seven kinds. */
function message(i: number): Message {
  const key = `cam-${i % SOURCES}`;
  const png = pngs[i % pngs.length]!;
  const base = { 'content-type': 'image/png', 'frame-id': `f-${i}`, ts: String(Date.now()) };
  if (i % 20 !== 7) return { key, value: png, headers: base };
  switch (Math.floor(i / 20) % 7) {
    case 0: return { key, value: SVG, headers: base };
    case 1: return { key, value: BIG, headers: base };
    case 2: return { key, value: png, headers: { ...base, 'frame-id': `long-${i}-${'x'.repeat(40_000)}` } };
    case 3: return { key: null, value: Buffer.from('not an image'), headers: base };
    case 4: return { key, value: Buffer.from('binary header'), headers: { ...base, 'x-bin': Buffer.from([0xff, 0xfe, 0, 0x80]) } };
    case 5: return { key, value: png, headers: { ...base, ts: '-1e300' } };
    default: return { key: `junk-${i}-${'k'.repeat(4096)}`, value: png, headers: base };
  }
}

function agent(groupId: string, port: number): ChildProcess {
  const child = spawn(process.execPath, ['bin/gaia-sentinel.js', 'run'], {
    cwd: ROOT,
    env: {
      ...process.env,
      GAIA_SOURCE: 'kafka',
      GAIA_KAFKA_BROKERS: brokers.join(','),
      GAIA_KAFKA_GROUP_ID: groupId,
      GAIA_KAFKA_FRAMES_TOPIC: topics.frames,
      GAIA_KAFKA_ALERTS_TOPIC: topics.alerts,
      GAIA_KAFKA_SCORES_TOPIC: topics.scores,
      GAIA_KAFKA_DLQ_TOPIC: topics.dlq,
      GAIA_EXECUTION_PROVIDERS: 'cpu',
      GAIA_TELEMETRY_PORT: String(port),
      GAIA_LOG_LEVEL: 'error',
      GAIA_KAFKA_SESSION_TIMEOUT_MS: '10000',
      GAIA_DRIFT_IDLE_FORGET_MS: '60000',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.resume();
  return child;
}

/** The agent's resident memory (from /proc) and the size of its /metrics page. */
async function sample(port: number, pid: number): Promise<{ rssMb: number; metricsKb: number } | undefined> {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return { rssMb: rss, metricsKb: text.length / 1024 };
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const limit = (v: string) => [{ name: 'max.message.bytes', value: v }];
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: topics.frames, numPartitions: 4, configEntries: limit(String(8 << 20)) },
      ...[topics.alerts, topics.scores, topics.dlq].map((topic) => ({ topic, numPartitions: 2, configEntries: limit('1048588') })),
    ],
  });
  const groupId = name('agent');
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  let child = agent(groupId, port);
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner, retry: { retries: 60 } });
  await producer.connect();
  const total = Math.round(minutes * 60 * fps);
  const t0 = Date.now();
  const samples: Array<{ s: number; rssMb: number; metricsKb: number }> = [];
  let killed = false;
  let bounced: Promise<unknown> | undefined;
  let sent = 0;
  const events: string[] = [];
  while (sent < total) {
    const due = t0 + (sent / fps) * 1000;
    if (due > Date.now()) await sleep(due - Date.now());
    const batch = Array.from({ length: Math.min(10, total - sent) }, (_, k) => message(sent + k));
    // Through the outage the producer retries; the frames wait in it.
    await producer.send({ topic: topics.frames, acks: -1, messages: batch });
    sent += batch.length;
    const progress = sent / total;
    if (!killed && progress >= 0.4) {
      killed = true;
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      events.push(`SIGKILL at ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      child = agent(groupId, port);
    }
    if (!bounced && progress >= 0.6) {
      events.push(`broker outage (20 s) from ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      bounced = new Promise((r) => spawn('bash', ['scripts/kafka/broker.sh', 'bounce', '20'], { cwd: ROOT, stdio: 'ignore' }).once('exit', r));
    }
    if (samples.length === 0 || Date.now() - t0 - samples[samples.length - 1]!.s * 1000 >= 10_000) {
      const s = child.pid ? await sample(port, child.pid) : undefined;
      if (s) samples.push({ s: (Date.now() - t0) / 1000, ...s });
    }
  }
  await bounced;
  await producer.disconnect();
  // Wait until every input offset has a verdict or a dead letter.
  const ends = await admin.fetchTopicOffsets(topics.frames);
  const frames = ends.reduce((a, p) => a + Number(p.high), 0);
  const seen = new Map<string, number>();
  const reader = kafka.consumer({ groupId: name('reader'), maxBytesPerPartition: 16 << 20 });
  await reader.connect();
  await reader.subscribe({ topics: [topics.scores, topics.dlq], fromBeginning: true });
  const deadline = Date.now() + 10 * 60_000;
  let verdicts = 0;
  let letters = 0;
  await reader.run({
    eachMessage: async ({ topic, message: m }) => {
      const h = (n: string) => m.headers?.[n]?.toString();
      const at = topic === topics.dlq ? `${h('x-source-partition')}/${h('x-source-offset')}` : (() => { const v = JSON.parse(m.value!.toString()); return `${v.partition}/${v.offset}`; })();
      if (topic === topics.dlq) letters++;
      else verdicts++;
      seen.set(at, (seen.get(at) ?? 0) + 1);
    },
  });
  while (seen.size < frames && Date.now() < deadline) {
    await sleep(2000);
    const s = child.pid ? await sample(port, child.pid) : undefined;
    if (s) samples.push({ s: (Date.now() - t0) / 1000, ...s });
  }
  await reader.disconnect();
  child.kill('SIGTERM');
  const code = await new Promise((r) => child.once('exit', r));
  const duplicates = [...seen.values()].reduce((a, n) => a + n - 1, 0);
  const rss = samples.map((x) => x.rssMb);
  const metricsKb = samples.map((x) => x.metricsKb);
  const half = Math.floor(samples.length / 2);
  const report = {
    minutes: ((Date.now() - t0) / 60_000).toFixed(1),
    framesIn: frames,
    handled: seen.size,
    lost: frames - seen.size,
    verdictRecords: verdicts,
    deadLetterRecords: letters,
    duplicates,
    events,
    exitOnSigterm: code,
    rssMb: { first: rss[0]?.toFixed(0), maxFirstHalf: Math.max(...rss.slice(0, half)).toFixed(0), maxSecondHalf: Math.max(...rss.slice(half)).toFixed(0), last: rss[rss.length - 1]?.toFixed(0) },
    metricsKb: { first: metricsKb[0]?.toFixed(1), max: Math.max(...metricsKb).toFixed(1), last: metricsKb[metricsKb.length - 1]?.toFixed(1) },
    samples: samples.length,
  };
  console.log(JSON.stringify(report, null, 2));
  await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => {});
  await admin.disconnect();
  process.exitCode = report.lost === 0 ? 0 : 1;
}

await main();
