/**
 * The alert and DLQ contracts (DESIGN.md §5), as plain JSON-serialisable records. Sinks
 * (the alerts topic, stdout for a replay) only ever see these.
 */
import type { DriftEvent, DriftSnapshot } from '../detect/drift.js';

/** Where a frame came from in its stream (Kafka coordinates; the file for a replay). */
export interface FrameOrigin {
  readonly topic?: string;
  readonly partition?: number;
  readonly offset?: string;
}

export interface FrameOodEvent extends FrameOrigin {
  readonly type: 'frame-ood';
  readonly source: string;
  readonly frameId: string;
  /** GAIA-Z raw score and the calibrated raw threshold it reached. */
  readonly score: number;
  readonly threshold: number;
  readonly predictedClass: string;
  readonly confidence: number;
  readonly model: string;
  readonly fingerprint: string;
  /** Capture time (from the frame, when known) and verdict time, ms since the epoch. */
  readonly capturedAt?: number;
  readonly scoredAt: number;
}

export type DriftAlert = DriftEvent & { readonly model: string };

/**
 * A source's drift state could not follow it to its new owner (its partition moved and no
 * changelog is configured, or the changelog could not be read): an open episode of it ends
 * here without a drift-resolved; the new owner starts a fresh window.
 */
export interface DriftResetEvent {
  readonly type: 'drift-state-reset';
  readonly source: string;
  readonly model: string;
  /** When the open episode started (frame time), if one was open. */
  readonly startedAt?: number;
  readonly reason: string;
  readonly ts: number;
}

/** Which calibration a verdict was judged with. */
export interface CalibrationIdentity {
  readonly path: string;
  /** sha256 of the calibration file's content. */
  readonly digest: string;
  readonly createdAt: string;
  readonly rawThreshold: number;
  readonly p0: number;
}

/** The agent swapped in another calibration while running (a reload): verdicts from now on use `current`. */
export interface CalibrationChangedEvent {
  readonly type: 'calibration-changed';
  readonly model: string;
  readonly fingerprint: string;
  /** Absent when the agent ran without a calibration before. */
  readonly previous?: CalibrationIdentity;
  readonly current: CalibrationIdentity;
  readonly ts: number;
}

export type AlertEvent = FrameOodEvent | DriftAlert | DriftResetEvent | CalibrationChangedEvent;

/** A source's drift window for the changelog topic (null: the source was forgotten, a tombstone). */
export interface DriftStateRecord {
  readonly source: string;
  /** The input partition its frames arrive on: the changelog record goes to the same partition. */
  readonly partition?: number;
  readonly snapshot: DriftSnapshot | null;
}

/** One verdict, for the optional scores topic. */
export interface VerdictRecord extends FrameOrigin {
  readonly source: string;
  readonly frameId: string;
  readonly score: number;
  readonly flagged: boolean;
  readonly predictedClass: string;
  readonly confidence: number;
  /** Capture time (from the frame's ts header, when present) and verdict time, ms since the epoch. */
  readonly capturedAt?: number;
  readonly scoredAt: number;
}

/** A message's key and headers exactly as they arrived (Kafka: bytes; a null key stays null). */
export interface OriginalMessage {
  readonly key: Uint8Array | null;
  readonly headers: Readonly<Record<string, Uint8Array | string | ReadonlyArray<Uint8Array | string> | undefined>>;
}

/** A frame that could not be scored, with everything needed to replay it. */
export interface DeadLetter extends FrameOrigin {
  readonly key: string | undefined;
  /** The original key and headers, where the source has them (Kafka), for the DLQ record. */
  readonly original?: OriginalMessage;
  readonly frameId: string;
  readonly value: Uint8Array;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly reason: string;
  readonly message: string;
}
