/**
 * The evidence kept per drift episode (docs/OPERATIONS.md, "Evidence"): what the judging
 * stage freezes when an episode opens and when it ends, and what the agent's /evidence
 * pages render and /evidence/<episode>.json returns. Plain JSON; the images are data: URIs
 * so a page needs nothing but itself.
 */
import { createHash } from 'node:crypto';
import type { FrameOrigin } from './events.js';

/** One of a source's most anomalous recent frames. */
export interface EvidenceFrame extends FrameOrigin {
  readonly frameId: string;
  /** Capture and verdict time, ms since the epoch. */
  readonly capturedAt?: number;
  readonly scoredAt: number;
  readonly flagged: boolean;
  /** What judged (`verdict` or a head), its statistic and the verdict's ID p-value. */
  readonly head: string;
  readonly score: number;
  readonly pValue?: number;
  /** Each judging head's ID p-value. */
  readonly pValues?: Readonly<Record<string, number>>;
  /** The judging head with the smallest p-value: the one that fired. */
  readonly firedBy?: string;
  readonly predictedClass: string;
  readonly confidence: number;
  /** GAIA-Z's zero ratio of each tap (the mean over its channels), first tap first. */
  readonly layerZeroRatios?: readonly number[];
  /** The model's view of the frame (after its resize and crop), a small JPEG as a data: URI; absent while it is made or when it could not be. */
  readonly thumbnail?: string;
  /** The saliency map over the same view, a PNG with alpha as a data: URI; absent without the saliency head. */
  readonly overlay?: string;
}

/** The window when the episode opened or ended (from its drift event). */
export interface EvidenceWindow {
  readonly ts: number;
  readonly window: number;
  readonly flagged: number;
  readonly rate: number;
  readonly p0: number;
  readonly pValue?: number;
  readonly statistic?: string;
}

export type EpisodeState = 'open' | 'resolved' | 'silent' | 'reset';

export interface EvidenceEpisode {
  readonly id: string;
  readonly source: string;
  readonly state: EpisodeState;
  readonly startedAt: number;
  readonly opened?: EvidenceWindow;
  readonly ended?: EvidenceWindow;
  /** GAIA-Z's typical zero ratio per tap on the calibration frames (their median), to read each frame's against; absent when the calibration has none. */
  readonly typicalZeroRatios?: readonly number[];
  /** The ring as it was when the episode opened, most anomalous first. */
  readonly framesAtStart: readonly EvidenceFrame[];
  /** The ring as it was when the episode ended. */
  readonly framesAtEnd?: readonly EvidenceFrame[];
}

/** What /evidence lists: open episodes first, then the recent ended ones, newest first. */
export interface EvidenceIndex {
  readonly model: string;
  readonly episodes: readonly EvidenceEpisode[];
  /** Sources whose frames are kept (evidence.sources bounds them). */
  readonly sourcesKept: number;
}

/**
 * An episode's id: a digest of its source and start (frame time), so the drift-started and
 * drift-resolved events of one episode carry the same link, on every run and after a restart.
 * Hex only: safe in a URL path whatever the source id is.
 */
export function episodeId(source: string, startedAt: number): string {
  return createHash('sha256').update(source).update('\u0000').update(String(startedAt)).digest('hex').slice(0, 20);
}

/** An episode id as it appears in a URL: 20 hex digits. */
export const EPISODE_ID = /^[0-9a-f]{20}$/;
