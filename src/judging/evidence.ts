/**
 * Evidence per drift episode, bounded like the metrics: up to `sources` sources keep a ring
 * of their `framesPerSource` most anomalous recent frames (evidence-ring.ts); a ring is
 * frozen into the episode when it opens and again when it ends. Open episodes are at most
 * one per kept source, ended ones the `recentEpisodes` newest. Images are made only for
 * frames that enter a ring, asynchronously (sharp runs off the event loop), a few at a time
 * from a bounded queue; a frame that left its ring before its turn is skipped, and one that
 * finds the queue full keeps its numbers without a picture.
 * Nothing is written to disk.
 */
import { episodeId, type EpisodeState, type EvidenceEpisode, type EvidenceIndex, type EvidenceWindow } from '../contracts/evidence.js';
import type { DriftEvent } from '../contracts/drift.js';
import type { VerdictRecord } from '../contracts/events.js';
import type { SourceMessage } from '../contracts/stream.js';
import type { ScoreBatch } from '../runtime/scorer.js';
import { EvidenceRing, type RingEntry } from './evidence-ring.js';
import { evidenceFrame, saliencyOf, type SaliencyMap } from './evidence-frame.js';

/** Renders a frame's images: the model's view as a thumbnail, and the saliency overlay when there is a map. */
export interface EvidenceImager {
  render(message: SourceMessage, saliency: SaliencyMap | undefined): Promise<{ readonly thumbnail: string; readonly overlay?: string }>;
}

export interface EvidenceOptions {
  readonly model: string;
  readonly framesPerSource: number;
  /** Most sources that keep frames at once. */
  readonly sources: number;
  /** Ended episodes kept for the page. */
  readonly recentEpisodes: number;
  /** Frames a ring looks back (the drift window). */
  readonly window: number;
  /** Where an episode's page is: `${baseUrl}/evidence/<id>` (the drift events carry it). */
  readonly baseUrl: string;
  readonly imager?: EvidenceImager;
  /** Channels of each tap, to turn gaia_z_ratios into one ratio per tap. */
  readonly tapChannels?: readonly number[];
  /** [height, width] of the saliency maps (the last tap's). */
  readonly saliencyShape?: readonly [number, number];
  /** Images waiting to be made (default 256; each holds its frame's bytes until its turn). */
  readonly maxQueuedImages?: number;
}

/** Pictures made at once (sharp on libuv's threads, shared with decoding). */
const IMAGE_CONCURRENCY = 2;

interface ImageJob {
  readonly entry: RingEntry;
  readonly message: SourceMessage;
  readonly saliency?: SaliencyMap;
}

interface Episode {
  readonly id: string;
  readonly source: string;
  state: EpisodeState;
  readonly startedAt: number;
  opened?: EvidenceWindow;
  ended?: EvidenceWindow;
  atStart: RingEntry[];
  atEnd?: RingEntry[];
  readonly typicalZeroRatios?: readonly number[];
}

export class Evidence {
  /** Kept sources' rings, oldest claim first. */
  private readonly rings = new Map<string, EvidenceRing>();
  private readonly open = new Map<string, Episode>();
  /** Ended episodes, oldest first. */
  private recent: Episode[] = [];
  /** Pictures waiting to be made, and being made (at most IMAGE_CONCURRENCY). */
  private queue: ImageJob[] = [];
  private making = 0;
  /** Images not made because the queue was full, and images made. */
  skippedImages = 0;
  imagesMade = 0;

  /** Images in the making now. */
  get pendingImages(): number {
    return this.making + this.queue.length;
  }

  constructor(private readonly o: EvidenceOptions) {}

  /** A judged frame: enters its source's ring when it is among the most anomalous recent ones. */
  observe(message: SourceMessage, record: VerdictRecord, out: ScoreBatch, i: number): void {
    if (record.pValue === undefined) return;
    const ring = this.ringOf(record.source);
    const entry = ring?.offer(record.pValue);
    if (!entry) return;
    entry.frame = evidenceFrame(record, out, i, this.o.tapChannels ?? []);
    if (!this.o.imager) return;
    if (this.queue.length >= (this.o.maxQueuedImages ?? 256)) {
      this.skippedImages++;
      return;
    }
    // The map is copied: the batch's buffer is not kept alive for it.
    const map = saliencyOf(out, i, this.o.saliencyShape);
    this.queue.push({ entry, message, ...(map ? { saliency: { ...map, data: map.data.slice() } } : {}) });
    this.pump();
  }

  /** Makes the queued pictures, IMAGE_CONCURRENCY at a time, skipping frames that already left their ring. */
  private pump(): void {
    const imager = this.o.imager!;
    while (this.making < IMAGE_CONCURRENCY && this.queue.length > 0) {
      const job = this.queue.shift()!;
      if (job.entry.evicted) continue;
      this.making++;
      imager
        .render(job.message, job.saliency)
        .then(
          (images) => {
            job.entry.frame = { ...job.entry.frame, ...images };
            this.imagesMade++;
          },
          () => undefined,
        )
        .finally(() => {
          this.making--;
          this.pump();
        });
    }
  }

  /** A drift event: freezes the ring into its episode; returns the episode's page (none when every kept source has an open episode). */
  onDrift(e: DriftEvent, typicalZeroRatios?: readonly number[]): string | undefined {
    const startedAt = e.type === 'drift-started' ? e.ts : (e.startedAt ?? e.ts);
    const id = episodeId(e.source, startedAt);
    const window: EvidenceWindow = { ts: e.ts, window: e.window, flagged: e.flagged, rate: e.rate, p0: e.p0, pValue: e.pValue, ...(e.statistic ? { statistic: e.statistic } : {}) };
    if (e.type === 'drift-started') {
      if (!this.claim(e.source)) return undefined;
      this.open.set(e.source, { id, source: e.source, state: 'open', startedAt, opened: window, atStart: this.frames(e.source), ...(typicalZeroRatios ? { typicalZeroRatios } : {}) });
    } else {
      this.end(e.source, 'resolved', startedAt, window, typicalZeroRatios);
    }
    return this.url(id);
  }

  /** An episode that ended without a drift-resolved (its source went quiet, or its state moved away). */
  endWithout(source: string, state: 'silent' | 'reset', startedAt: number | undefined): void {
    if (startedAt === undefined && !this.open.has(source)) return;
    this.end(source, state, startedAt ?? this.open.get(source)!.startedAt, undefined);
  }

  /**
   * Sources forgotten (idle, or moved to another consumer): their rings go and their slots
   * are free; an episode still open here continues elsewhere, so it is kept as ended here.
   */
  forget(sources: Iterable<string>): void {
    for (const s of sources) {
      const open = this.open.get(s);
      if (open) this.end(s, 'reset', open.startedAt, undefined);
      this.rings.delete(s);
    }
  }

  url(id: string): string {
    return `${this.o.baseUrl}/evidence/${id}`;
  }

  /** Open episodes, then the ended ones, newest first. */
  index(): EvidenceIndex {
    const episodes = [...[...this.open.values()].sort((a, b) => b.startedAt - a.startedAt), ...[...this.recent].reverse()];
    return { model: this.o.model, episodes: episodes.map(view), sourcesKept: this.rings.size };
  }

  episode(id: string): EvidenceEpisode | undefined {
    for (const e of this.open.values()) if (e.id === id) return view(e);
    const e = this.recent.find((r) => r.id === id);
    return e ? view(e) : undefined;
  }

  private end(source: string, state: EpisodeState, startedAt: number, window: EvidenceWindow | undefined, typicalZeroRatios?: readonly number[]): void {
    const id = episodeId(source, startedAt);
    const open = this.open.get(source);
    // After a restart the episode may have opened before this process: it starts here, at its end.
    const e: Episode = open?.id === id ? open : { id, source, state, startedAt, atStart: [], ...(typicalZeroRatios ? { typicalZeroRatios } : {}) };
    this.open.delete(source);
    e.state = state;
    if (window) e.ended = window;
    e.atEnd = this.frames(source);
    this.recent = [...this.recent.filter((r) => r.id !== id), e].slice(-this.o.recentEpisodes);
  }

  private frames(source: string): RingEntry[] {
    return this.rings.get(source)?.snapshot() ?? [];
  }

  /** The source's ring; a new source gets one while fewer than `sources` are kept. */
  private ringOf(source: string): EvidenceRing | undefined {
    const ring = this.rings.get(source);
    if (ring || this.rings.size >= this.o.sources) return ring;
    const fresh = new EvidenceRing(this.o.framesPerSource, this.o.window);
    this.rings.set(source, fresh);
    return fresh;
  }

  /**
   * A source whose episode opens keeps frames from now on: when every slot is taken, it
   * takes the oldest one of a source without an open episode; false when there is none.
   */
  private claim(source: string): boolean {
    if (this.rings.has(source) || this.rings.size < this.o.sources) return this.ringOf(source) !== undefined;
    for (const s of this.rings.keys()) {
      if (this.open.has(s)) continue;
      this.rings.delete(s);
      return this.ringOf(source) !== undefined;
    }
    return false;
  }
}

function view(e: Episode): EvidenceEpisode {
  return {
    id: e.id,
    source: e.source,
    state: e.state,
    startedAt: e.startedAt,
    ...(e.opened ? { opened: e.opened } : {}),
    ...(e.ended ? { ended: e.ended } : {}),
    ...(e.typicalZeroRatios ? { typicalZeroRatios: e.typicalZeroRatios } : {}),
    framesAtStart: e.atStart.map((r) => r.frame),
    ...(e.atEnd ? { framesAtEnd: e.atEnd.map((r) => r.frame) } : {}),
  };
}
