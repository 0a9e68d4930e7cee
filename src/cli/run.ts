/**
 * `gaia-sentinel run`: the agent's main job. Today's source is a replay of image folders
 * as one camera's stream (by default the model package's samples: ID frames, then OOD
 * frames, then ID again), through the full pipeline: decoding, micro-batching, scoring in
 * a worker thread, verdicts against the model's calibration, and per-source drift
 * episodes. Events go to stdout; logs (pino JSON) to stderr. The Kafka source and sinks
 * come with the streaming agent.
 */
import { access } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { SASLOptions } from 'kafkajs';
import type { GaiaZMode } from '../compile/heads.js';
import { loadConfig, type Config } from '../config/load.js';
import { DriftMonitor } from '../detect/drift.js';
import { auroc } from '../detect/metrics.js';
import { loadModelPackage } from '../frames/manifest.js';
import { Preprocessor } from '../frames/preprocess.js';
import { loadCalibration } from '../offline/calibration-file.js';
import { modelFingerprint } from '../offline/fingerprint.js';
import { loadScorer } from '../runtime/load-scorer.js';
import type { AlertEvent, VerdictRecord } from '../stream/events.js';
import { KafkaSinks, KafkaTransactionalPublisher } from '../stream/kafka-sinks.js';
import { kafkaTls } from '../stream/kafka-client.js';
import { KafkaSource, type RevokedPartitions } from '../stream/kafka-source.js';
import { runPipeline, type AtomicPublisher, type MessageSource, type PipelineSinks } from '../stream/pipeline.js';
import { parsePhase, ReplaySource } from '../stream/replay-source.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import { TelemetryServer, type Readiness } from '../telemetry/http-server.js';
import { createLogger } from '../telemetry/logger.js';
import { AgentMetrics, MetricsRegistry } from '../telemetry/metrics.js';
import type { CliIO } from './io.js';

export const runUsage = `Usage: gaia-sentinel run [--model DIR] [--replay DIR[*N]]... [--verbose] [--config FILE]

Scores a stream of frames with GAIA-Z, judges each against the model's calibration, and
watches the drift rate of each source. Source: a replay of image folders as one camera
(default: the model package's samples: id, ood, then id twice).

  --model DIR        model package (manifest.json + model.onnx); env GAIA_MODEL_DIR
  --replay DIR[*N]   replay phase, N times (repeatable); env GAIA_REPLAY_DIRS
  --verbose          print every verdict, not only events
  --config FILE      JSON config file (keys: docs/CONFIG.md)
`;

export async function runCommand(argv: string[], io: CliIO): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      replay: { type: 'string', multiple: true },
      verbose: { type: 'boolean', default: false },
      config: { type: 'string' },
    },
    strict: true,
  });
  const config = loadConfig({
    ...(values.config ? { file: values.config } : {}),
    overrides: { ...(values.model ? { 'model.dir': values.model } : {}), ...(values.replay ? { 'replay.dirs': values.replay } : {}) },
  });
  const log = createLogger(config.log.level);
  const pkg = await loadModelPackage(config.model.dir);
  const name = pkg.manifest.name;
  const started = performance.now();
  const { scorer, compiled, model } = await loadScorer(pkg, {
    executionProviders: config.runtime.executionProviders,
    requireGpu: config.runtime.requireGpu,
    intraOpThreads: config.runtime.intraOpThreads,
    taps: config.model.taps,
    // convict has checked it against the schema's list.
    gaiaZMode: config.model.gaiaZMode as GaiaZMode,
  });
  // From here on the scorer's worker thread is running: close it on every path.
  try {
    if (scorer.fallbacks.length > 0) {
      log.warn({ tried: scorer.fallbacks, using: scorer.executionProvider }, `execution provider fallback: using ${scorer.executionProvider}`);
    }
    log.info(
      { model: name, taps: compiled.taps.length, heads: scorer.heads, gaiaZMode: compiled.gaiaZMode, notes: compiled.notes, executionProvider: scorer.executionProvider, ms: Math.round(performance.now() - started) },
      'scoring graph compiled and loaded',
    );
    const fingerprint = modelFingerprint(model, config.model.taps, pkg.manifest);
    const calibration = await findCalibration(config.calibration.path, name, { model: name, fingerprint });
    const threshold = calibration?.heads[calibration.primaryHead];
    if (calibration) log.info({ calibration: calibration.path, rawThreshold: threshold?.rawThreshold, p0: threshold?.flagRate }, 'calibration loaded');

    const registry = new MetricsRegistry();
    const metrics = new AgentMetrics(registry, {
      allowSources: config.telemetry.allowSources,
      topKSources: config.telemetry.topKSources,
      ...(threshold ? { threshold: threshold.rawThreshold } : {}),
    });
    metrics.setModel(name, fingerprint, scorer.executionProvider, threshold?.flagRate);
    let readiness: () => Readiness = () => ({ ready: false, detail: { source: 'connecting' } });
    const telemetry = await TelemetryServer.create({ host: config.telemetry.host, port: config.telemetry.port, registry, readiness: () => readiness() }).catch(
      (err: Error) => {
        // The replay demo runs without its HTTP endpoints rather than fail on a busy port.
        if (config.source.kind === 'replay') {
          log.warn({ err: err.message }, 'telemetry server not started');
          return undefined;
        }
        throw new GaiaError(ErrorCodes.BAD_CONFIG, `cannot serve /metrics on ${config.telemetry.host}:${config.telemetry.port} (telemetry.port, env GAIA_TELEMETRY_PORT): ${err.message}`);
      },
    );
    if (telemetry) log.info({ url: `http://${config.telemetry.host}:${telemetry.port}/metrics` }, 'telemetry server listening');

    const stream = await openStream(config, pkg.dir).catch(async (err: unknown) => {
      await telemetry?.close();
      throw err;
    });
    if (stream.lag) metrics.watchLag(stream.lag);
    metrics.watchReady(() => readiness().ready);
    readiness = () => {
      const health = stream.health(config.telemetry.readyStaleMs);
      return { ready: health.ready, detail: { model: name, source: config.source.kind, ...health } };
    };
    const drift = threshold
      ? new DriftMonitor({
          window: config.drift.window,
          alpha: config.drift.alpha,
          p0: threshold.flagRate,
          resolveAfterMs: config.drift.resolveAfterMs,
          ...(config.drift.resolveRate > 0 ? { resolveRate: config.drift.resolveRate } : {}),
          ...(config.drift.idleForgetMs > 0 ? { idleForgetMs: config.drift.idleForgetMs } : {}),
        })
      : undefined;
    // Sources that went quiet give back their window and drift series (bounded memory).
    const idleSweep =
      drift && config.drift.idleForgetMs > 0
        ? setInterval(() => {
            for (const source of drift.forgetIdle()) metrics.forgetSource(source);
          }, Math.min(60_000, config.drift.idleForgetMs)).unref()
        : undefined;
    // Drift windows live with the partition owner (DESIGN.md §4): when a rebalance moves a
    // partition away, its sources' windows and drift series go; the new owner starts afresh.
    stream.onRevoked?.(({ partitions, sources }) => {
      for (const source of sources) {
        drift?.forget(source);
        metrics.forgetSource(source);
      }
      log.info({ partitions, sources: sources.length }, 'partitions moved to another consumer; their sources\' drift state dropped here');
    });
    io.stdout.write(
      `${stream.description}\n` +
        (threshold
          ? `model ${name}; verdicts: GAIA-Z ≥ ${threshold.rawThreshold.toPrecision(4)} (${calibration!.path}, p0 ${(100 * threshold.flagRate).toFixed(1)}%); drift: window ${config.drift.window}, alpha ${config.drift.alpha}\n`
          : `model ${name}; no calibration found: scores only, no verdicts or drift (write one with gaia-sentinel calibrate)\n`),
    );

    // The end-of-run summary is for a finite replay; a Kafka agent keeps no per-frame history.
    const keepRecords = config.source.kind === 'replay';
    const records: VerdictRecord[] = [];
    const t0 = Date.now();
    const describeEvent = (e: AlertEvent) =>
      e.type === 'frame-ood'
        ? ''
        : `[+${((e.ts - t0) / 1000).toFixed(2)}s] ${e.type} ${e.source}: ${e.flagged}/${e.window} frames flagged (${(100 * e.rate).toFixed(1)}% vs p0 ${(100 * e.p0).toFixed(1)}%, p = ${e.pValue.toExponential(1)})\n`;
    // SIGTERM/SIGINT: stop fetching, finish and publish what is in flight, commit, disconnect.
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal, deadlineMs: config.shutdownTimeoutMs }, 'shutting down: finishing in-flight frames');
      stream.stop();
      setTimeout(() => {
        log.error({ deadlineMs: config.shutdownTimeoutMs }, 'shutdown deadline passed; exiting without a clean close');
        process.exit(1);
      }, config.shutdownTimeoutMs).unref();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    const stats = await runPipeline({
      source: stream.source,
      pre: new Preprocessor(pkg.manifest, config.frames),
      scorer,
      labels: pkg.manifest.labels,
      model: name,
      fingerprint,
      ...(threshold ? { threshold } : {}),
      ...(drift ? { drift } : {}),
      sinks: stream.sinks,
      ...(stream.atomic ? { atomic: stream.atomic } : {}),
      maxBatch: config.runtime.maxBatch,
      maxWaitMs: config.runtime.maxWaitMs,
      highWaterMark: config.runtime.highWaterMark,
      decodeConcurrency: config.runtime.decodeConcurrency,
      deliveryIntervalMs: stream.atomic ? config.kafka.transactionIntervalMs : config.source.kind === 'kafka' ? config.kafka.lingerMs : 0,
      onBatch: (size, seconds) => metrics.batch(size, seconds),
      onVerdict: (r) => {
        const state = drift?.state(r.source);
        metrics.verdict(r, threshold !== undefined, state && { rate: state.rate, active: state.active });
        if (keepRecords) records.push(r);
        if (values.verbose) {
          io.stdout.write(
            `${r.frameId.padEnd(34)} ${r.predictedClass.padEnd(12)} ${r.confidence.toFixed(2).padStart(5)} ${r.score.toFixed(4).padStart(8)}  ${threshold ? (r.flagged ? 'OOD' : 'ok') : '-'}\n`,
          );
        }
      },
      onEvent: (e) => io.stdout.write(describeEvent(e)),
      onDeadLetter: (d) => {
        metrics.deadLetter(d);
        log.warn({ source: d.key, frame: d.frameId, reason: d.reason, err: d.message }, 'frame rejected');
      },
    });
    clearInterval(idleSweep);
    await stream.close();
    await telemetry?.close();
    process.removeListener('SIGTERM', stop);
    process.removeListener('SIGINT', stop);
    log.info({ ...stats }, 'stopped');
    io.stdout.write(
      keepRecords
        ? summary(records, stats.deadLetters, threshold !== undefined)
        : `\n${stats.scored} frames scored (${stats.flagged} flagged OOD), ${stats.deadLetters} dead-lettered\n`,
    );
  } finally {
    await scorer.close();
  }
}

interface Stream {
  readonly source: MessageSource;
  readonly sinks: PipelineSinks;
  readonly atomic?: AtomicPublisher;
  readonly description: string;
  health(staleMs: number): { ready: boolean } & Record<string, unknown>;
  /** Consumer lag per input partition, where the source has one. */
  readonly lag?: () => ReadonlyMap<number, number>;
  /** Rebalances that moved partitions, and the sources on them, to another consumer. */
  readonly onRevoked?: (listener: (revoked: RevokedPartitions) => void) => void;
  stop(): void;
  close(): Promise<void>;
}

/** The configured source and sinks: a replay with no outputs, or Kafka in and out. */
async function openStream(config: Readonly<Config>, modelDir: string): Promise<Stream> {
  if (config.source.kind === 'kafka') {
    const k = config.kafka;
    const connection = {
      brokers: k.brokers,
      clientId: k.clientId,
      ssl: kafkaTls(k),
      ...(k.saslMechanism
        ? { sasl: { mechanism: k.saslMechanism, username: k.saslUsername, password: k.saslPassword } as SASLOptions }
        : {}),
    };
    const topics = { alertsTopic: k.alertsTopic, scoresTopic: k.scoresTopic, dlqTopic: k.dlqTopic };
    const sinks = await KafkaSinks.create({ ...connection, ...topics });
    const source = await KafkaSource.create({
      ...connection,
      groupId: k.groupId,
      topic: k.framesTopic,
      maxBytesPerPartition: k.maxBytesPerPartition,
      fromBeginning: k.fromBeginning,
      sessionTimeoutMs: k.sessionTimeoutMs,
      fetchMaxWaitMs: k.fetchMaxWaitMs,
      commitIntervalMs: k.commitIntervalMs,
    });
    const transactionalId = k.transactionalId || `${k.groupId}-${hostname()}`;
    const atomic = k.exactlyOnce ? await KafkaTransactionalPublisher.create({ ...connection, ...topics, transactionalId }, source) : undefined;
    return {
      source,
      sinks,
      ...(atomic ? { atomic } : {}),
      description:
        `consuming ${k.framesTopic} from ${k.brokers.join(',')} as group ${k.groupId}; alerts → ${k.alertsTopic}, dead letters → ${k.dlqTopic}` +
        `${k.scoresTopic ? `, verdicts → ${k.scoresTopic}` : ''}; ${atomic ? `exactly-once (transactional id ${transactionalId})` : 'at-least-once'}`,
      health: (staleMs) => source.health(staleMs),
      lag: () => source.lag,
      onRevoked: (listener) => source.onRevoked(listener),
      stop: () => source.stop(),
      close: async () => {
        try {
          await source.close(); // commits what is acknowledged
        } finally {
          await atomic?.close();
          await sinks.close();
        }
      },
    };
  }
  const samples = (sub: string, repeat: number) => ({ dir: join(modelDir, 'samples', sub), repeat });
  const phases = config.replay.dirs.length > 0 ? config.replay.dirs.map(parsePhase) : [samples('id', 1), samples('ood', 1), samples('id', 2)];
  const source = await ReplaySource.create({ phases, source: config.replay.source, fps: config.replay.fps });
  return {
    source,
    sinks: { publish: async () => {} },
    description: `replaying ${source.count} frames as source "${config.replay.source}" at ${config.replay.fps || 'full'} fps: ${phases.map((p) => `${p.dir}${p.repeat > 1 ? `*${p.repeat}` : ''}`).join(', ')}`,
    health: () => ({ ready: true }),
    lag: () => source.lag(),
    stop: () => source.stop(),
    close: async () => {},
  };
}

/** The calibration to judge frames with: the configured file, else the model's default one if present. */
async function findCalibration(configured: string, name: string, expected: { model: string; fingerprint: string }) {
  const path = configured || join('calibration', `${name}.json`);
  if (!configured && !(await access(path).then(() => true, () => false))) return undefined;
  return { ...(await loadCalibration(path, expected)), path };
}

function summary(records: VerdictRecord[], rejected: number, judged: boolean): string {
  const byFolder = new Map<string, VerdictRecord[]>();
  for (const r of records) {
    const folder = r.frameId.split('/')[0]!;
    byFolder.set(folder, [...(byFolder.get(folder) ?? []), r]);
  }
  const lines = ['', `${records.length} frames scored, ${rejected} rejected`];
  for (const [folder, rs] of byFolder) {
    const z = rs.map((r) => r.score).sort((a, b) => a - b);
    const flagged = judged ? `, ${rs.filter((r) => r.flagged).length} flagged OOD` : '';
    lines.push(`  ${folder}: ${rs.length} frames${flagged}, GAIA-Z median ${z[Math.floor(z.length / 2)]!.toFixed(4)}, mean MSP ${(rs.reduce((a, r) => a + r.confidence, 0) / rs.length).toFixed(3)}`);
  }
  const id = byFolder.get('id');
  const ood = byFolder.get('ood');
  if (id && ood) {
    // ID-scores: higher = more in-distribution (GAIA-Z raw is negated).
    lines.push(`  AUROC id vs ood: GAIA-Z ${auroc(id.map((r) => -r.score), ood.map((r) => -r.score)).toFixed(3)}, MSP ${auroc(id.map((r) => r.confidence), ood.map((r) => r.confidence)).toFixed(3)}`);
  }
  return `${lines.join('\n')}\n`;
}
