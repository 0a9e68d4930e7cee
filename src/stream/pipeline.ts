/**
 * The agent's data flow, independent of Kafka, in the order a frame takes it: a message
 * from the source is decoded (several at once, handed on in arrival order), micro-batched,
 * scored in the worker thread, judged (verdicts, alerts, drift), and its batch's outputs
 * handed to the delivery queue; only once the sinks have them is the batch acknowledged to
 * the source (at-least-once), or both happen in one transaction (exactly-once). Bad frames
 * go to the DLQ with their reason and are acknowledged too, so a partition never stalls.
 */
import type { BatchOutputs, DeliveryStage, FrameDamage, MessageSource, OutputSink, AtomicPublisher, PipelineObserver, SourceMessage } from '../contracts/stream.js';
import type { AlertEvent, DeadLetter, VerdictRecord } from '../contracts/events.js';
import type { InputMeasure, InputStats } from '../contracts/input-stats.js';
import { decodeMeasured } from '../frames/frame-decoder.js';
import { FrameError, type Preprocessor } from '../frames/preprocess.js';
import type { ScoreBatch, Scorer } from '../runtime/scorer.js';
import { BufferPool } from './buffer-pool.js';
import { DeliveryQueue } from './delivery-queue.js';
import { MicroBatcher } from './micro-batcher.js';

/**
 * The judging stage as the pipeline sees it: a scored batch in, what to publish for it out.
 * `inputs`: each frame's input statistics, measured at decoding (docs/DEFINITIONS.md#input-heads).
 */
export interface BatchJudge {
  judge(
    messages: readonly SourceMessage[],
    out: ScoreBatch,
    scoredAt: number,
    inputs?: readonly InputStats[],
  ): Omit<BatchOutputs, 'letters' | 'records'> & { readonly records: readonly VerdictRecord[] };
  /** A frame that could not be scored (dead-lettered) at `at`: the events it causes (a source's broken-frames episode). */
  rejected?(message: SourceMessage, at: number): readonly AlertEvent[];
}

export interface PipelineOptions {
  readonly source: MessageSource;
  /** Decoding: the model package's preprocessing. */
  readonly pre: Preprocessor;
  /** Frames decoded at once, ahead of the batcher (default 4). */
  readonly decodeConcurrency?: number;
  /**
   * How much of each frame's input statistics to measure (InputMeasure; default full), asked
   * again for every frame when a function, so that a reloaded calibration whose rule names an
   * input head switches the second decode on (camera.inputStatistics auto).
   */
  readonly measureInput?: InputMeasure | (() => InputMeasure);
  readonly maxBatch: number;
  readonly maxWaitMs: number;
  /** Frames held (decoded, queued, or being scored) before the source is paused. */
  readonly highWaterMark: number;
  readonly scorer: Scorer;
  readonly judging: BatchJudge;
  /** Verdict time (default Date.now). */
  readonly now?: () => number;
  readonly sinks: OutputSink | Pick<OutputSink, 'publish'>;
  /** When set, outputs and acknowledgements go through it atomically (exactly-once). */
  readonly atomic?: AtomicPublisher;
  /** Least time between two deliveries (exactly-once: the transaction interval); default 0. */
  readonly deliveryIntervalMs?: number;
  /** Told of every batch, verdict, event, dead letter and failed delivery (metrics, console). */
  readonly observer?: PipelineObserver;
}

export interface PipelineStats {
  scored: number;
  flagged: number;
  deadLetters: number;
  /** Deliveries to the sinks (produce requests or transactions), and the batches they carried. */
  deliveries: number;
  deliveredBatches: number;
  /** Frame and batch tensors allocated over the run (the rest were reused from the pools). */
  tensorsAllocated?: { frames: number; batches: number };
}

interface Decoded {
  readonly message: SourceMessage;
  readonly tensor: Float32Array;
  readonly input: InputStats;
}

/** A decoded frame's tensor, and its damage when frames.damaged let a damaged frame through. */
class DecodedTensor {
  constructor(
    readonly tensor: Float32Array,
    readonly damage: FrameDamage | undefined,
    readonly input: InputStats,
  ) {}
}

/** A frame being decoded: the pooled tensor it decodes into, and the decode's outcome. */
interface Decoding {
  readonly tensor: Float32Array;
  readonly result: Promise<DecodedTensor | unknown>;
}

export function runPipeline(o: PipelineOptions): Promise<PipelineStats> {
  return new Pipeline(o).run();
}

class Pipeline {
  private readonly stats: PipelineStats = { scored: 0, flagged: 0, deadLetters: 0, deliveries: 0, deliveredBatches: 0 };
  private readonly observer: PipelineObserver;
  private readonly batcher: MicroBatcher<Decoded>;
  private readonly delivery: DeliveryQueue;
  /** Taken from the source, not yet with the batcher or the DLQ. */
  private inDecoding = 0;
  /** Set while backpressure holds the source: the loop waits on it. */
  private paused: Promise<void> | undefined;
  private resume: (() => void) | undefined;
  /** The first failure: it stops everything, and nothing after it is acknowledged (its frames are redelivered). */
  private failure: unknown;
  /** The step the delivery in flight is at (deliveries run one at a time), for the failure metric. */
  private stage: DeliveryStage = 'publish';
  /**
   * Reused tensors, so that no frame or batch allocates one (at camera size they made the
   * garbage collector a third of the main thread's time). A frame's tensor is the pipeline's
   * from decode until it is copied into its batch; a batch's goes to the scorer (transferred
   * to the worker thread, which hands it back with the outputs) and is reused only then.
   */
  private readonly frameTensors: BufferPool;
  private readonly batchTensors: BufferPool;

  constructor(private readonly o: PipelineOptions) {
    this.observer = o.observer ?? {};
    const per = o.pre.elementsPerFrame;
    // Every frame held is at most decoding, queued or in the batch being copied.
    this.frameTensors = new BufferPool(per, o.highWaterMark + Math.max(1, o.decodeConcurrency ?? 4));
    // One batch is scored at a time; a second covers the one the worker has not yet handed back.
    this.batchTensors = new BufferPool(o.maxBatch * per, 2);
    this.batcher = new MicroBatcher<Decoded>({
      maxBatch: o.maxBatch,
      maxWaitMs: o.maxWaitMs,
      highWaterMark: o.highWaterMark,
      lowWaterMark: Math.floor(o.highWaterMark / 2),
      onPause: () => this.pauseSource(),
      onResume: () => this.resumeSource(),
      process: (batch) => this.score(batch),
      onError: (err) => this.fail(err),
    });
    this.delivery = new DeliveryQueue((out, messages) => this.deliver(out, messages), o.deliveryIntervalMs ?? 0, {
      // Room to merge batches into one delivery, and a bound on memory when the brokers are slow.
      maxPendingFrames: Math.max(2 * o.maxBatch, Math.floor(o.highWaterMark / 2)),
      onFailure: (err) => {
        if (this.failure === undefined) this.observer.deliveryFailed?.(err, this.stage);
        this.fail(err);
      },
    });
  }

  /** Source → decode: takes messages until the source ends or a failure stops it, then drains every stage. */
  async run(): Promise<PipelineStats> {
    this.observer.watchQueue?.(() => ({ decoding: this.inDecoding, scoring: this.batcher.size, delivering: this.delivery.pendingFrames }));
    // Up to `decodeConcurrency` frames decode at once (sharp runs on libuv's thread pool, so
    // one at a time would leave decoding bound by each call's latency); their results are
    // handed on strictly in arrival order, each as soon as it and those before it are done.
    const concurrency = Math.max(1, this.o.decodeConcurrency ?? 4);
    let handedOn: Promise<void> = Promise.resolve();
    const decoding: Array<Promise<void>> = [];
    try {
      for await (const message of this.o.source.messages()) {
        if (this.paused) await this.paused;
        if (this.failure !== undefined) break;
        const decoded = this.decode(message);
        handedOn = handedOn.then(() => this.handOn(message, decoded));
        decoding.push(handedOn);
        while (decoding.length >= concurrency) await decoding.shift();
      }
    } catch (err) {
      this.fail(err);
    }
    await handedOn.catch((err: unknown) => this.fail(err));
    await this.batcher.close();
    await this.delivery.drain();
    if (this.failure !== undefined) throw this.failure;
    this.stats.deliveries = this.delivery.deliveries;
    this.stats.deliveredBatches = this.delivery.batches;
    this.stats.tensorsAllocated = { frames: this.frameTensors.allocated, batches: this.batchTensors.allocated };
    return this.stats;
  }

  /** Decodes one frame into a pooled tensor; its result is the tensor, or the error that rejects the frame. */
  private decode(message: SourceMessage): Decoding {
    this.inDecoding++;
    const tensor = this.frameTensors.take();
    const result = decodeMeasured(this.o.pre, message.value, message.headers, tensor, this.measureNow()).then(
      ({ damage, input }) => new DecodedTensor(tensor, damage, input),
      (err: unknown) => err,
    );
    return { tensor, result };
  }

  private measureNow(): InputMeasure {
    const m = this.o.measureInput ?? 'full';
    return typeof m === 'function' ? m() : m;
  }

  /** Decode → batch: a decoded frame joins the batcher; an undecodable one goes to the DLQ. */
  private async handOn(message: SourceMessage, decoding: Decoding): Promise<void> {
    const result = await decoding.result;
    this.inDecoding--;
    // A rejected frame's tensor is free again (normaliseInto overwrites every element of the next frame's).
    if (!(result instanceof DecodedTensor)) this.frameTensors.give(decoding.tensor);
    // A damaged frame is reported whether it is scored or dead-lettered, in arrival order.
    const damage = result instanceof DecodedTensor || result instanceof FrameError ? result.damage : undefined;
    if (damage) this.observer.damagedFrame?.(message, damage);
    if (result instanceof DecodedTensor) this.batcher.push({ message, tensor: result.tensor, input: result.input });
    else if (result instanceof FrameError) await this.deadLetter(message, result);
    else throw result;
  }

  private pauseSource(): void {
    this.o.source.pause();
    this.observer.sourcePaused?.(true);
    this.paused = new Promise((r) => (this.resume = r));
  }

  private resumeSource(): void {
    this.o.source.resume();
    this.observer.sourcePaused?.(false);
    this.resume?.();
    this.paused = undefined;
  }

  /** Batch → score → judge → delivery queue. */
  private async score(batch: Decoded[]): Promise<void> {
    const per = this.o.pre.elementsPerFrame;
    // Frames after the batch's own are left over from an earlier batch: the scorer reads the first batch.length.
    const input = this.batchTensors.take();
    batch.forEach((d, i) => {
      input.set(d.tensor, i * per);
      this.frameTensors.give(d.tensor);
    });
    const started = performance.now();
    const out = await this.o.scorer.score(input, batch.length);
    // A worker scorer transferred `input` away (it is detached now) and hands it back as out.input.
    this.batchTensors.give(out.input ?? input);
    this.observer.batch?.(batch.length, (performance.now() - started) / 1000);
    const messages = batch.map((d) => d.message);
    const judged = this.o.judging.judge(messages, out, (this.o.now ?? Date.now)(), batch.map((d) => d.input));
    for (const record of judged.records) {
      this.observer.verdict?.(record);
      this.stats.scored++;
      if (record.flagged) this.stats.flagged++;
    }
    for (const e of judged.events) this.observer.event?.(e);
    // Delivery runs behind scoring, in batch order, so the next batch is scored while this
    // one's outputs travel to the brokers.
    await this.delivery.offer({ ...judged, letters: [] }, messages);
  }

  /** A frame that cannot be decoded: to the DLQ, in line with the batches' outputs so acknowledgements keep their order. */
  private async deadLetter(message: SourceMessage, err: FrameError): Promise<void> {
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
    this.stats.deadLetters++;
    this.observer.deadLetter?.(letter);
    const events = this.o.judging.rejected?.(message, (this.o.now ?? Date.now)()) ?? [];
    for (const e of events) this.observer.event?.(e);
    await this.delivery.offer({ events, records: [], letters: [letter] }, [message]);
  }

  /** Outputs first, acknowledgement after (a crash in between replays the batch); or both in one transaction. */
  private async deliver(out: BatchOutputs, messages: readonly SourceMessage[]): Promise<void> {
    if (this.o.atomic) {
      this.stage = 'transaction';
      return this.o.atomic.publish(out, messages);
    }
    this.stage = 'publish';
    await this.o.sinks.publish(out);
    this.stage = 'commit';
    await this.o.source.ack(messages);
  }

  /**
   * The first failure stops everything at once: the source stops handing out messages (a
   * quiet partition would otherwise keep the loop waiting, the failure unreported), and
   * nothing after it is acknowledged, so its frames are redelivered.
   */
  private fail(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    this.o.source.stop();
    this.resume?.();
  }
}
