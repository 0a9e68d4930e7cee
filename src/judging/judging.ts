/**
 * The judging stage: a scored batch in; its verdict records, every alert they cause
 * (frame-ood, drift-started, drift-resolved) and, with a changelog, the drift windows they
 * touched, out. It owns what verdicts depend on between batches: the active calibration
 * (judge and identity, swapped as one between batches, never within one) and the drift
 * monitor, which is created with the first calibration and follows each new one's p0.
 */
import type { DriftSnapshot } from '../contracts/drift.js';
import type {
  AlertEvent,
  CalibrationChangedEvent,
  CalibrationRef,
  DriftResetEvent,
  DriftSilentEvent,
  DriftStateRecord,
  Provenance,
  VerdictRecord,
} from '../contracts/events.js';
import type { InputStats } from '../contracts/input-stats.js';
import type { SourceMessage } from '../contracts/stream.js';
import type { DriftMonitor } from '../detect/drift.js';
import type { Judge } from '../detect/verdict-rule.js';
import type { ScoreBatch } from '../runtime/scorer.js';
import type { Evidence } from './evidence.js';
import { calibrationChanged, driftAlert, driftSilent, driftStateReset, frameOodEvent } from './events.js';
import { CameraFaults, type CameraFaultOptions } from './camera-faults.js';
import { withInputScores } from './input-scores.js';
import { verdictRecords } from './verdicts.js';

/** What judges, and which calibration file it comes from. */
export interface ActiveCalibration {
  readonly judge: Judge;
  readonly ref: CalibrationRef;
  /** GAIA-Z's typical zero ratio per tap on its frames (calibration.json zeroRatios), for the evidence pages. */
  readonly zeroRatios?: readonly number[];
}

export interface JudgingOptions {
  readonly model: string;
  readonly fingerprint: string;
  readonly labels: readonly string[];
  readonly numClasses: number;
  /** The head whose score records carry while no calibration is loaded (default gaia_z). */
  readonly scoreHead?: string;
  /** What judges from the start; without it frames get scores but no verdicts until swap(). */
  readonly calibration?: ActiveCalibration;
  /** Makes the drift monitor for a baseline flag rate p0; without it there are no drift episodes. */
  readonly drift?: (p0: number, referenceSize?: number) => DriftMonitor;
  /** A changelog topic keeps the drift windows: each batch carries those it touched, and a moved partition's state follows it. */
  readonly changelog?: boolean;
  /** The camera's own faults: frozen streams and broken-frame episodes per source (camera.*); absent: not checked. */
  readonly camera?: CameraFaultOptions;
  /** Keeps the most anomalous frames per source and freezes them into each drift episode; drift events then link to its page. */
  readonly evidence?: Evidence;
}

/** A judged batch: what the delivery stage publishes for it. */
export interface JudgedBatch {
  readonly records: VerdictRecord[];
  /** In order: each flagged frame's frame-ood event, followed by the drift event it caused. */
  readonly events: AlertEvent[];
  /** With a changelog: the drift windows of the sources in the batch. */
  readonly states?: DriftStateRecord[];
}

const MOVED_WITHOUT_CHANGELOG = 'its partition moved to another consumer and the drift changelog is off (drift.changelog)';

export class Judging {
  private active: ActiveCalibration | undefined;
  private monitor: DriftMonitor | undefined;
  private readonly camera: CameraFaults | undefined;

  constructor(private readonly o: JudgingOptions) {
    this.active = o.calibration;
    this.camera = o.camera ? new CameraFaults(o.camera) : undefined;
    this.monitor = o.calibration && o.drift ? o.drift(o.calibration.judge.flagRate, o.calibration.judge.referenceSize) : undefined;
  }

  get calibration(): ActiveCalibration | undefined {
    return this.active;
  }

  /** Created with the first calibration. */
  get drift(): DriftMonitor | undefined {
    return this.monitor;
  }

  /** What produced a record: in every verdict and event. */
  get provenance(): Provenance {
    return { model: this.o.model, modelFingerprint: this.o.fingerprint, calibration: this.active?.ref ?? null };
  }

  /** `inputs`: each frame's input statistics from the decode stage, which input heads judge. */
  judge(messages: readonly SourceMessage[], scored: ScoreBatch, scoredAt: number, inputs?: readonly InputStats[]): JudgedBatch {
    const judge = this.active?.judge;
    const drift = this.monitor;
    const out = inputs ? withInputScores(scored, inputs) : scored;
    const records = verdictRecords(messages, out, {
      labels: this.o.labels,
      numClasses: this.o.numClasses,
      head: this.o.scoreHead ?? 'gaia_z',
      provenance: this.provenance,
      scoredAt,
      ...(judge ? { judge } : {}),
    });
    const events: AlertEvent[] = this.camera?.scored(records, inputs, this.provenance) ?? [];
    if (judge) {
      const evidence = this.o.evidence;
      records.forEach((record, i) => {
        if (record.flagged) events.push(frameOodEvent(record, judge.rawThreshold));
        evidence?.observe(messages[i]!, record, out, i);
        const episode = drift?.observe(record.source, { flagged: record.flagged, pValue: record.pValue }, record.capturedAt ?? scoredAt, record.partition, record.offset);
        if (episode) events.push(driftAlert(episode, record, evidence?.onDrift(episode, this.active?.zeroRatios)));
      });
    }
    if (!drift || !this.o.changelog) return { records, events };
    const touched = new Map(records.map((r) => [r.source, r.partition] as const));
    const states = [...touched].map(([source, partition]) => ({ source, ...(partition === undefined ? {} : { partition }), snapshot: drift.snapshot(source) ?? null }));
    return { records, events, states };
  }

  /** A frame of the message's source that could not be scored: the broken-frames event it causes, if any. */
  rejected(message: SourceMessage, at: number): AlertEvent[] {
    return this.camera?.rejected(message, at, this.provenance) ?? [];
  }

  /**
   * Judges with `next` from the next batch on: drift tests follow its p0 (the first
   * calibration creates the drift monitor). Returns the calibration-changed event.
   */
  swap(next: ActiveCalibration, ts: number): CalibrationChangedEvent {
    const previous = this.active;
    this.active = next;
    if (this.monitor) this.monitor.setBaseline(next.judge.flagRate, next.judge.referenceSize);
    else if (this.o.drift) this.monitor = this.o.drift(next.judge.flagRate, next.judge.referenceSize);
    return calibrationChanged({ model: this.o.model, modelFingerprint: this.o.fingerprint }, previous?.ref ?? null, next.ref, ts);
  }

  /**
   * Partitions moved to another consumer: their sources' drift state goes. Without a
   * changelog it cannot follow them, so each open episode ends here with a drift-state-reset.
   */
  forget(partitions: readonly number[], ts: number): { readonly sources: string[]; readonly resets: DriftResetEvent[] } {
    const drift = this.monitor;
    const orphaned = this.o.changelog ? [] : (drift?.activeOn(partitions) ?? []);
    const resets = orphaned.map((s) => driftStateReset(s, this.provenance, drift?.startedAt(s), MOVED_WITHOUT_CHANGELOG, ts));
    for (const r of resets) this.o.evidence?.endWithout(r.source, 'reset', r.startedAt);
    const sources = drift?.forgetPartitions(partitions) ?? [];
    this.camera?.forget(sources);
    this.o.evidence?.forget(sources);
    return { sources, resets };
  }

  /** The drift windows a changelog kept for sources on `partitions`; returns how many were restored (undefined: no drift monitor yet). */
  restore(snapshots: Iterable<DriftSnapshot>, partitions: readonly number[]): number | undefined {
    const drift = this.monitor;
    if (!drift) return undefined;
    let restored = 0;
    for (const snap of snapshots) if (snap.partition !== undefined && partitions.includes(snap.partition) && drift.restore(snap)) restored++;
    return restored;
  }

  /**
   * Sources that went quiet give back their windows; returns them, and (with a changelog)
   * a tombstone for each, so the compacted topic forgets them too.
   */
  forgetIdle(): { readonly sources: string[]; readonly states: DriftStateRecord[] } {
    const drift = this.monitor;
    if (!drift) return { sources: [], states: [] };
    const sources = drift.idle();
    const states = this.o.changelog
      ? sources.map((source) => {
          const partition = drift.partitionOf(source);
          return { source, ...(partition === undefined ? {} : { partition }), snapshot: null };
        })
      : [];
    for (const s of sources) drift.forget(s);
    this.camera?.forget(sources);
    this.o.evidence?.forget(sources);
    return { sources, states };
  }

  /**
   * Open episodes of sources silent for `silenceMs` end with a drift-silent event each (and,
   * with a changelog, the closed window).
   */
  endSilent(silenceMs: number, now: number): { readonly events: DriftSilentEvent[]; readonly states: DriftStateRecord[] } {
    const drift = this.monitor;
    if (!drift) return { events: [], states: [] };
    const ended = drift.endSilent(silenceMs, now);
    const events = ended.map((e) => driftSilent(e, this.provenance, silenceMs, now));
    for (const e of ended) this.o.evidence?.endWithout(e.source, 'silent', e.startedAt);
    const states = this.o.changelog
      ? ended.map(({ source }) => {
          const snapshot = drift.snapshot(source) ?? null;
          return { source, ...(snapshot?.partition === undefined ? {} : { partition: snapshot.partition }), snapshot };
        })
      : [];
    return { events, states };
  }
}
