/**
 * The output contracts (docs/EVENTS.md), as plain JSON-serialisable records: the data of
 * each CloudEvent (cloud-events.ts adds the attributes) and the dead letters. Sinks (the
 * Kafka topics, NDJSON on stdout) only ever see these. Each type's JSON Schema is in
 * schemas/; a field added keeps the type's version, any other change bumps it.
 */
import type { DriftEvent, DriftSnapshot } from './drift.js';

/** Where a frame came from in its stream (Kafka coordinates; the file for a replay). */
export interface FrameOrigin {
  readonly topic?: string;
  readonly partition?: number;
  readonly offset?: string;
}

/** Which calibration judged: a digest of the calibration file's content, and when it was made. */
export interface CalibrationRef {
  readonly digest: string;
  readonly createdAt: string;
}

/** What produced a record: in every verdict and every event, so a consumer can tell fleets and releases apart. */
export interface Provenance {
  readonly model: string;
  /** The model fingerprint calibrations are checked against. */
  readonly modelFingerprint: string;
  /** null: no calibration loaded (scores only). */
  readonly calibration: CalibrationRef | null;
}

/** The frame whose verdict caused an event: its id and stream coordinates. */
export interface FrameRef extends FrameOrigin {
  readonly frameId: string;
}

/**
 * What a frame's verdict says, shared by the verdict record and the frame-ood event (the
 * event is the record of a flagged frame, with the threshold it reached).
 */
export interface FrameJudgement extends FrameOrigin, Provenance {
  readonly source: string;
  readonly frameId: string;
  /**
   * What judged: `verdict` (the calibration's verdict rule; score is its combined statistic,
   * flagged at or below threshold) or a head (model.verdictHead, or gaia_z while no
   * calibration is loaded: its raw score and the raw threshold it reached).
   */
  readonly head: string;
  readonly score: number;
  /** The verdict's ID p-value against the calibration frames: ≈ Uniform(0, 1) on in-distribution frames, small = atypical. */
  readonly pValue?: number;
  /** Each judging head's ID p-value: which head fired. */
  readonly pValues?: Readonly<Record<string, number>>;
  /** A rule's heads' raw scores (gaia_z, energy, ...). */
  readonly scores?: Readonly<Record<string, number>>;
  readonly predictedClass: string;
  readonly confidence: number;
  /**
   * Capture time (the frame's ts header, else its Kafka record's timestamp) and verdict time,
   * ms since the epoch. A redelivered frame keeps its capture time; scoredAt is when it was
   * (last) scored.
   */
  readonly capturedAt?: number;
  readonly scoredAt: number;
  /** A flagged frame's input heads that fired (ID p-value ≤ 0.05), most significant first, with their raw values: the camera's own fault in one line. */
  readonly inputFault?: string;
}

export interface FrameOodEvent extends FrameJudgement {
  readonly type: 'frame-ood';
  readonly threshold: number;
}

/** evidenceUrl: the episode's evidence page (evidence.publicBaseUrl + /evidence/<episode>), when evidence is on; added in 0.x, additive. */
export type DriftAlert = DriftEvent & Provenance & { readonly trigger: FrameRef; readonly evidenceUrl?: string };

/**
 * A source's drift state could not follow it to its new owner (its partition moved and no
 * changelog is configured, or the changelog could not be read): an open episode of it ends
 * here without a drift-resolved; the new owner starts a fresh window.
 */
export interface DriftResetEvent extends Provenance {
  readonly type: 'drift-state-reset';
  readonly source: string;
  /** When the open episode started (frame time), if one was open. */
  readonly startedAt?: number;
  readonly reason: string;
  readonly ts: number;
}

/**
 * An open drift episode ended because its source went quiet, not because it recovered: no
 * frame arrived for drift.silenceMs (wall-clock). The page clears; whether the camera came
 * back healthy is unknown until it sends frames again (a new episode opens if it is still off).
 */
export interface DriftSilentEvent extends Provenance {
  readonly type: 'drift-silent';
  readonly source: string;
  /** When the episode started and when the source's last frame was taken (frame time). */
  readonly startedAt: number;
  readonly lastFrameAt: number;
  /** The configured silence (drift.silenceMs) that ended it. */
  readonly silenceMs: number;
  /** The window when the source went quiet. */
  readonly window: number;
  readonly flagged: number;
  readonly rate: number;
  readonly p0: number;
  /** When the agent ended the episode (wall-clock, ms since the epoch). */
  readonly ts: number;
}

/**
 * The agent's calibration was replaced (a reload): verdicts after it use the new threshold,
 * and drift baselines change with p0. Keyed by the model, not a frame source.
 */
export interface CalibrationChangedEvent {
  readonly type: 'calibration-changed';
  readonly model: string;
  readonly modelFingerprint: string;
  /** null: the agent had no calibration before. */
  readonly previous: CalibrationRef | null;
  readonly current: CalibrationRef;
  readonly ts: number;
}

/**
 * A camera's own fault over time (docs/DEFINITIONS.md#camera-faults), per source: its stream
 * froze (`frozen-frame`: consecutive frames the same picture) or too many of its frames are
 * broken (`broken-frames`: dead letters beyond what the baseline rate makes probable). Each
 * is an episode: `started`, then `resolved` when the camera sends a different picture or its
 * broken share is back at the baseline.
 */
interface CameraFaultEpisode extends Provenance {
  readonly state: 'started' | 'resolved';
  readonly source: string;
  /** frozen-frame: consecutive near-identical frames so far; broken-frames: broken frames in the window. */
  readonly count: number;
  /** broken-frames: frames in the window, the critical count that starts an episode, and the baseline rate. */
  readonly window?: number;
  readonly criticalCount?: number;
  readonly baselineRate?: number;
  /** The frame that changed the state. */
  readonly trigger: FrameRef;
  /** Frame time of the trigger (capture time, else the verdict or rejection time), ms since the epoch. */
  readonly ts: number;
}

export interface FrozenFrameEvent extends CameraFaultEpisode {
  readonly type: 'frozen-frame';
}

export interface BrokenFramesEvent extends CameraFaultEpisode {
  readonly type: 'broken-frames';
}

export type CameraFaultEvent = FrozenFrameEvent | BrokenFramesEvent;

export type AlertEvent = FrameOodEvent | DriftAlert | DriftResetEvent | DriftSilentEvent | CalibrationChangedEvent | CameraFaultEvent;

/** A source's drift window for the changelog topic (null: the source was forgotten, a tombstone). */
export interface DriftStateRecord {
  readonly source: string;
  /** The input partition its frames arrive on: the changelog record goes to the same partition. */
  readonly partition?: number;
  readonly snapshot: DriftSnapshot | null;
}

/** One verdict, for the optional scores topic. */
export interface VerdictRecord extends FrameJudgement {
  readonly flagged: boolean;
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
