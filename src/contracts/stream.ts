/**
 * The stream contracts, in the order data flows: a source hands out messages, the
 * pipeline scores and judges them, sinks take the outputs, and only then is the source
 * told the messages are handled. Implementations (Kafka, replay) live in their own files
 * and import only this one, never the pipeline.
 */
import type { AlertEvent, DeadLetter, DriftStateRecord, FrameOrigin, OriginalMessage, VerdictRecord } from './events.js';

/** A message's headers as text (Kafka header values decoded as UTF-8). */
export type Headers = Readonly<Record<string, string | undefined>>;

/** One frame message as a source hands it out. */
export interface SourceMessage {
  readonly source: string;
  readonly frameId: string;
  readonly value: Uint8Array;
  readonly headers: Headers;
  /** Capture time, ms since the epoch (the `ts` header, else the Kafka record's timestamp), when known and plausible. */
  readonly ts?: number;
  readonly origin: FrameOrigin;
  /**
   * The message's key and headers exactly as they arrived (Kafka: bytes, a null key stays
   * null), so a dead letter can carry the original; `source` and `headers` are text views.
   */
  readonly original?: OriginalMessage;
}

/** What the pipeline needs from a source; acknowledging tells it messages are fully handled. */
export interface MessageSource {
  messages(): AsyncIterable<SourceMessage>;
  ack(messages: readonly SourceMessage[]): Promise<void>;
  pause(): void;
  resume(): void;
  /** Stops handing out messages now: messages() ends (a failed delivery calls it at once). */
  stop(): void;
}

/** A source's health in one shape for every kind. */
export interface SourceHealth {
  /** Frames can flow: the source is connected (Kafka: the brokers answered recently). */
  readonly ready: boolean;
  /** False when the source is gone for good and only a restart helps (a consumer that crashed without restarting). */
  readonly live: boolean;
  readonly detail: Readonly<Record<string, unknown>>;
}

/** Partitions another consumer of the group now owns. */
export interface RevokedPartitions {
  readonly partitions: readonly number[];
}

/** A source the agent runs: the pipeline's view plus lifecycle, health, lag and rebalances. */
export interface FrameSource extends MessageSource {
  /** One line for the operator: what is consumed, from where. */
  readonly description: string;
  health(staleMs: number): SourceHealth;
  /**
   * Messages not yet committed per input partition: the end of the partition minus the
   * committed offset (a stalled commit shows as growing lag even while fetching goes on).
   */
  lag(): ReadonlyMap<number, number>;
  /** Rebalances that moved partitions to another consumer. */
  onRevoked(listener: (revoked: RevokedPartitions) => void): void;
  /**
   * Rebalances that gave this consumer partitions it did not have. Their frames are held
   * back until every listener's promise settles (the agent restores their sources' drift
   * state from the changelog first).
   */
  onAssigned(listener: (partitions: readonly number[]) => Promise<void>): void;
  /**
   * Every offset commit the brokers refused (sources that commit; Kafka). A deferred commit
   * (kafka.commitIntervalMs) that fails is retried with the next one and stops nothing, so
   * this is the only place it shows; one on the delivery path also fails the delivery.
   */
  onCommitFailed?(listener: (err: Error) => void): void;
  /** Stops, commits what is acknowledged, disconnects; idempotent. */
  close(): Promise<void>;
  /** Stops and disconnects without committing anything more; idempotent. */
  abort(): Promise<void>;
}

/** A delivery's outputs. */
export interface BatchOutputs {
  readonly events: readonly AlertEvent[];
  readonly records: readonly VerdictRecord[];
  readonly letters: readonly DeadLetter[];
  /** Drift windows of the sources this delivery touched, for the changelog topic (when configured). */
  readonly states?: readonly DriftStateRecord[];
}

/** Where outputs go (at-least-once): resolves once they are durably accepted (for Kafka: acks=all). */
export interface OutputSink {
  /** Alerts, verdicts and dead letters of one delivery, at once. */
  publish(outputs: BatchOutputs): Promise<void>;
  close(): Promise<void>;
}

/**
 * Exactly-once delivery: publishes outputs and acknowledges their messages as one atomic
 * step (a Kafka transaction carrying the consumer offsets). Replaces sink + ack.
 */
export interface AtomicPublisher {
  publish(outputs: BatchOutputs, messages: readonly SourceMessage[]): Promise<void>;
  close(): Promise<void>;
}

/** Consumer offsets an atomic publisher commits inside its transaction (implemented by the Kafka source). */
export interface OffsetLedger {
  readonly groupId: string;
  readonly topic: string;
  /** Marks messages handled; returns the offsets that may now be committed. */
  committable(messages: readonly SourceMessage[]): Array<{ partition: number; offset: string }>;
  /** Offsets that were committed (by the transaction), for lag against commits. */
  committed(offsets: ReadonlyArray<{ partition: number; offset: string }>): void;
}

/** Which step of a delivery the brokers refused: the outputs, the offsets, or both at once (exactly-once). */
export type DeliveryStage = 'publish' | 'commit' | 'transaction';

/**
 * A frame whose header is valid but whose data the decoder reads only by ignoring errors
 * in it (docs/OPERATIONS.md, hostile input).
 */
export interface FrameDamage {
  /** truncated: the bytes end before the format's end marker; corrupt: any other damage. */
  readonly kind: 'truncated' | 'corrupt';
  /** What frames.damaged did with it: dead-lettered (reason `damaged`) or scored as decoded. */
  readonly action: 'dead-letter' | 'score';
  /** Format, size, stage and the decoder's words: the dead letter's message. */
  readonly detail: string;
}

/** Frames the pipeline holds, by stage. */
export interface PipelineQueue {
  /** Taken from the source, being decoded. */
  readonly decoding: number;
  /** Decoded, waiting in the batcher or being scored. */
  readonly scoring: number;
  /** Scored, their outputs not yet acknowledged by the brokers. */
  readonly delivering: number;
}

/**
 * What the pipeline reports as it goes. Metrics and the console implement it; the pipeline
 * never logs or counts by itself.
 */
export interface PipelineObserver {
  /** A scored batch: its size and the scoring time. */
  batch?(size: number, seconds: number): void;
  verdict?(record: VerdictRecord): void;
  event?(event: AlertEvent): void;
  deadLetter?(letter: DeadLetter): void;
  /** A damaged frame (frames.damaged): dead-lettered (then deadLetter follows) or scored anyway; counted either way. */
  damagedFrame?(message: SourceMessage, damage: FrameDamage): void;
  /** A delivery failed: nothing after it is acknowledged, the source is stopped. */
  deliveryFailed?(err: unknown, stage: DeliveryStage): void;
  /** Backpressure paused (true) or resumed (false) the source. */
  sourcePaused?(paused: boolean): void;
  /** Called once at the start: where to read the pipeline's queues from (metrics read it on each scrape). */
  watchQueue?(read: () => PipelineQueue): void;
}
