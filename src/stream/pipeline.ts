/**
 * The agent's data flow, independent of Kafka: messages from a source are decoded
 * (overlapping inference), micro-batched, scored in the worker thread, judged against the
 * calibration, fed to the per-source drift windows, and their outputs handed to the sinks;
 * only then is the batch acknowledged to the source (at-least-once). Bad frames go to the
 * DLQ with their reason and are acknowledged too, so a partition never stalls on them.
 */
import type { DriftMonitor } from '../detect/drift.js';
import type { Judge } from '../detect/verdict-rule.js';
import { decodeFrame } from '../frames/frame-decoder.js';
import { FrameError, type Preprocessor } from '../frames/preprocess.js';
import type { Scorer } from '../runtime/scorer.js';
import type { AtomicPublisher, BatchOutputs, DeliveryStage, MessageSource, OutputSink, PipelineObserver, SourceMessage } from '../contracts/stream.js';
import type { AlertEvent, CalibrationRef, DeadLetter } from '../contracts/events.js';
import { DeliveryQueue } from './delivery-queue.js';
import { MicroBatcher } from './micro-batcher.js';
import { frameRef, judgeBatch } from '../judging/verdicts.js';

export interface PipelineOptions {
  readonly source: MessageSource;
  readonly pre: Preprocessor;
  readonly scorer: Scorer;
  readonly labels: readonly string[];
  readonly model: string;
  readonly fingerprint: string;
  /**
   * What judges frames (the calibration's verdict rule, or one head's threshold); without it
   * frames get scores but no verdicts. As functions, judge, calibration and drift are read
   * together once per batch, so a reloaded calibration applies from the next batch on,
   * never to half of one.
   */
  readonly judge?: Judge | (() => Judge | undefined);
  /** Which calibration file the judge comes from (carried by every verdict and event). */
  readonly calibration?: CalibrationRef | (() => CalibrationRef | undefined);
  readonly drift?: DriftMonitor | (() => DriftMonitor | undefined);
  /** The head whose score unjudged records carry, while no calibration is loaded (default gaia_z). */
  readonly scoreHead?: string;
  readonly sinks: OutputSink | Pick<OutputSink, 'publish'>;
  /** When set, outputs and acknowledgements go through it atomically (exactly-once). */
  readonly atomic?: AtomicPublisher;
  readonly maxBatch: number;
  readonly maxWaitMs: number;
  /** Frames held (decoded, queued, or being scored) before the source is paused. */
  readonly highWaterMark: number;
  /** Least time between two deliveries (exactly-once: the transaction interval); default 0. */
  readonly deliveryIntervalMs?: number;
  /** Frames decoded at once, ahead of the batcher (default 4). */
  readonly decodeConcurrency?: number;
  readonly now?: () => number;
  /** Deliver each touched source's drift window with the batch's outputs (for a changelog topic). */
  readonly driftChangelog?: boolean;
  /** Told of every batch, verdict, event, dead letter and failed delivery (metrics, console). */
  readonly observer?: PipelineObserver;
}

interface Decoded {
  readonly message: SourceMessage;
  readonly tensor: Float32Array;
}

export interface PipelineStats {
  scored: number;
  flagged: number;
  deadLetters: number;
  /** Deliveries to the sinks (produce requests or transactions), and the batches they carried. */
  deliveries: number;
  deliveredBatches: number;
}

export async function runPipeline(o: PipelineOptions): Promise<PipelineStats> {
  const stats: PipelineStats = { scored: 0, flagged: 0, deadLetters: 0, deliveries: 0, deliveredBatches: 0 };
  // Outputs waiting for (or in) delivery, oldest first, with their frame counts. Scoring
  // waits while more than `maxAwaiting` frames are scored but not delivered, which bounds
  // memory when the brokers are slow and leaves room to merge batches into one delivery.
  const awaiting: Array<{ delivered: Promise<void>; frames: number }> = [];
  let awaitingFrames = 0;
  // Frames whose outputs are not yet acknowledged (the queue gauge; awaitingFrames lags behind).
  let delivering = 0;
  const maxAwaiting = Math.max(2 * o.maxBatch, Math.floor(o.highWaterMark / 2));
  // A failed batch stops the pipeline: its frames are not acknowledged, so they are redelivered.
  let failure: unknown;
  const now = o.now ?? Date.now;
  const judgeNow = typeof o.judge === 'function' ? o.judge : () => o.judge as Judge | undefined;
  const calibrationNow = typeof o.calibration === 'function' ? o.calibration : () => o.calibration as CalibrationRef | undefined;
  const driftNow = typeof o.drift === 'function' ? o.drift : () => o.drift as DriftMonitor | undefined;
  const per = o.pre.elementsPerFrame;
  const observer = o.observer ?? {};
  let resume: (() => void) | undefined;
  /**
   * The first failure stops everything at once: the source stops handing out messages (a
   * quiet partition would otherwise keep the loop waiting, the failure unreported), and
   * nothing after it is acknowledged, so its frames are redelivered.
   */
  const fail = (err: unknown) => {
    if (failure !== undefined) return;
    failure = err;
    o.source.stop();
    resume?.();
  };
  let paused: Promise<void> | undefined;

  const batcher = new MicroBatcher<Decoded>({
    maxBatch: o.maxBatch,
    maxWaitMs: o.maxWaitMs,
    highWaterMark: o.highWaterMark,
    lowWaterMark: Math.floor(o.highWaterMark / 2),
    onPause: () => {
      o.source.pause();
      observer.sourcePaused?.(true);
      paused = new Promise((r) => (resume = r));
    },
    onResume: () => {
      o.source.resume();
      observer.sourcePaused?.(false);
      resume?.();
      paused = undefined;
    },
    process: (batch) => scoreBatch(batch),
    onError: fail,
  });

  // The step the delivery in flight is at (deliveries run one at a time), for the failure metric.
  let stage: DeliveryStage = 'publish';
  /** Outputs, then acknowledgement; or both in one transaction. */
  async function deliver(out: BatchOutputs, messages: readonly SourceMessage[]): Promise<void> {
    if (o.atomic) {
      stage = 'transaction';
      return o.atomic.publish(out, messages);
    }
    stage = 'publish';
    await o.sinks.publish(out);
    stage = 'commit';
    await o.source.ack(messages);
  }

  const delivery = new DeliveryQueue(deliver, o.deliveryIntervalMs ?? 0);

  /** Outputs to the delivery queue; returns once the frames awaiting delivery are few enough. */
  async function handOn(out: BatchOutputs, messages: readonly SourceMessage[]): Promise<void> {
    delivering += messages.length;
    const delivered = delivery
      .push(out, messages)
      .catch((err: unknown) => {
        if (failure === undefined) observer.deliveryFailed?.(err, stage);
        fail(err);
      })
      .finally(() => (delivering -= messages.length));
    awaiting.push({ delivered, frames: messages.length });
    awaitingFrames += messages.length;
    while (awaitingFrames > maxAwaiting) {
      const oldest = awaiting.shift()!;
      await oldest.delivered;
      awaitingFrames -= oldest.frames;
    }
  }

  async function scoreBatch(batch: Decoded[]): Promise<void> {
    const input = new Float32Array(batch.length * per);
    batch.forEach((d, i) => input.set(d.tensor, i * per));
    const started = performance.now();
    const out = await o.scorer.score(input, batch.length);
    observer.batch?.(batch.length, (performance.now() - started) / 1000);
    const messages = batch.map((d) => d.message);
    const scoredAt = now();
    const judge = judgeNow();
    const calibration = calibrationNow();
    const drift = driftNow();
    const { records, alerts } = judgeBatch(messages, out, {
      labels: o.labels,
      numClasses: o.scorer.numClasses,
      model: o.model,
      fingerprint: o.fingerprint,
      head: o.scoreHead ?? 'gaia_z',
      scoredAt,
      ...(judge ? { judge } : {}),
      ...(calibration ? { calibration } : {}),
    });
    const events: AlertEvent[] = [];
    records.forEach((record, i) => {
      observer.verdict?.(record);
      stats.scored++;
      if (!judge) return;
      const alert = alerts[i];
      if (alert) {
        stats.flagged++;
        events.push(alert);
      }
      const episode = drift?.observe(record.source, { flagged: record.flagged, pValue: record.pValue }, record.capturedAt ?? scoredAt, record.partition);
      // The frame that tipped the window identifies the event (its id) and lets a consumer find it.
      if (episode) events.push({ ...episode, model: record.model, modelFingerprint: record.modelFingerprint, calibration: record.calibration, trigger: frameRef(record) });
    });
    for (const e of events) observer.event?.(e);
    // Outputs first, acknowledgement after: a crash in between replays the batch
    // (at-least-once). Delivery runs behind scoring, in batch order, so the next batch is
    // scored while this one's outputs travel to the brokers.
    const states =
      drift && o.driftChangelog
        ? [...new Map(records.map((r) => [r.source, r.partition] as const))].map(([source, partition]) => ({
            source,
            ...(partition === undefined ? {} : { partition }),
            snapshot: drift.snapshot(source) ?? null,
          }))
        : undefined;
    await handOn({ events, records, letters: [], ...(states ? { states } : {}) }, messages);
  }

  /** A frame that cannot be decoded: to the DLQ, in line with the batches' outputs so acknowledgements keep their order. */
  async function deadLetter(message: SourceMessage, err: FrameError): Promise<void> {
    const letter: DeadLetter = {
      ...message.origin,
      key: message.source,
      frameId: message.frameId,
      value: message.value,
      headers: message.headers,
      ...(message.original ? { original: message.original } : {}),
      reason: err.reason,
      message: err.message,
    };
    stats.deadLetters++;
    observer.deadLetter?.(letter);
    await handOn({ events: [], records: [], letters: [letter] }, [message]);
  }

  // Up to `decodeConcurrency` frames decode at once (sharp runs on libuv's thread pool, so
  // one at a time would leave decoding bound by each call's latency); their results are
  // handed on strictly in arrival order, each as soon as it and those before it are done.
  const decodeConcurrency = Math.max(1, o.decodeConcurrency ?? 4);
  let handedOn: Promise<void> = Promise.resolve();
  const decoding: Array<Promise<void>> = [];
  let inDecoding = 0; // taken from the source, not yet with the batcher or the DLQ
  observer.watchQueue?.(() => ({ decoding: inDecoding, scoring: batcher.size, delivering }));
  try {
    for await (const message of o.source.messages()) {
      if (paused) await paused;
      if (failure !== undefined) break;
      inDecoding++;
      const tensor = new Float32Array(per);
      const decoded = decodeFrame(o.pre, message.value, message.headers, tensor).then(
        () => undefined,
        (err: unknown) => err,
      );
      handedOn = handedOn.then(async () => {
        const err = await decoded;
        inDecoding--;
        if (err === undefined) batcher.push({ message, tensor });
        else if (err instanceof FrameError) await deadLetter(message, err);
        else throw err;
      });
      decoding.push(handedOn);
      while (decoding.length >= decodeConcurrency) await decoding.shift();
    }
  } catch (err) {
    fail(err);
  }
  await handedOn.catch(fail);
  await batcher.close();
  await Promise.all(awaiting.map((a) => a.delivered));
  if (failure !== undefined) throw failure;
  stats.deliveries = delivery.deliveries;
  stats.deliveredBatches = delivery.batches;
  return stats;
}
