/**
 * One source's drift state (drift.ts): the ring of its last verdicts' flags, the p-value
 * CUSUM, the open episode, and the same as a changelog snapshot.
 */
import type { DriftSnapshot } from '../contracts/drift.js';
import { CUSUM_QUANTUM } from './ert.js';

export interface SourceState {
  readonly active: boolean;
  readonly window: number;
  readonly flagged: number;
  readonly rate: number;
}

export class SourceWindow {
  ring: Uint8Array;
  next = 0;
  n = 0;
  k = 0;
  /** The CUSUM, in lattice steps of CUSUM_QUANTUM. */
  s = 0;
  active = false;
  startedAt = 0;
  /** Frame time since which the rate has stayed at or below resolveRate (NaN: not below). */
  belowSince = Number.NaN;
  /** Wall-clock time of the last verdict (frame times may be old or skewed). */
  lastSeen = Date.now();
  /** The input partition the source's frames arrive on, where there is one: the window moves with it. */
  partition: number | undefined;
  /** The input offset of the last frame counted (on `partition`): redeliveries at or below it are not counted again. */
  offset: bigint | undefined;
  /** Frame time of the last frame counted. */
  lastTs: number | undefined;

  /** @param partialShift the CUSUM is the partial-shift one (src/detect/partial-shifts.ts): snapshots are v4. */
  constructor(
    size: number,
    public partialShift = false,
  ) {
    this.ring = new Uint8Array(size);
  }

  push(flagged: boolean): void {
    if (this.n === this.ring.length) this.k -= this.ring[this.next]!;
    else this.n++;
    this.ring[this.next] = flagged ? 1 : 0;
    this.k += this.ring[this.next]!;
    this.next = (this.next + 1) % this.ring.length;
  }

  get state(): SourceState {
    return { active: this.active, window: this.n, flagged: this.k, rate: this.n ? this.k / this.n : 0 };
  }

  /** The window as the changelog stores it. */
  toSnapshot(source: string): DriftSnapshot {
    return {
      // v4: the CUSUM is the partial-shift one; v3 (as agents before it write) the −ln p one.
      v: this.partialShift ? 4 : 3,
      source,
      ...(this.partition === undefined ? {} : { partition: this.partition }),
      ring: Buffer.from(this.ring).toString('base64'),
      next: this.next,
      n: this.n,
      k: this.k,
      active: this.active,
      startedAt: this.startedAt,
      belowSince: Number.isNaN(this.belowSince) ? null : this.belowSince,
      cusum: this.s * CUSUM_QUANTUM,
      ...(this.offset === undefined ? {} : { offset: this.offset.toString() }),
      ...(this.lastTs === undefined ? {} : { lastTs: this.lastTs }),
    };
  }

  /**
   * A window from a changelog snapshot, or undefined for one of another window size or an
   * inconsistent one. A v1 snapshot (before the CUSUM) restores with the CUSUM at 0; one
   * before v3 without the offset of its last frame (redeliveries are then counted again). The
   * CUSUM of a snapshot of the other kind (v4 partial-shift, before it −ln p) restarts at 0:
   * its units differ.
   */
  static fromSnapshot(snap: DriftSnapshot, size: number, partialShift = false): SourceWindow | undefined {
    const ring = Buffer.from(snap.ring, 'base64');
    let k = 0;
    for (const b of ring) k += b;
    const cusum = snap.v === 1 ? 0 : snap.cusum;
    const offset = (snap.v === 3 || snap.v === 4) && typeof snap.offset === 'string' && /^\d{1,19}$/.test(snap.offset) ? BigInt(snap.offset) : undefined;
    const consistent =
      (snap.v === 1 || ((snap.v === 2 || snap.v === 3 || snap.v === 4) && typeof cusum === 'number' && cusum >= 0 && Number.isFinite(cusum))) &&
      ring.length === size && snap.n >= 0 && snap.n <= ring.length && snap.k === k && snap.next >= 0 && snap.next < ring.length;
    if (!consistent) return undefined;
    const w = new SourceWindow(size, partialShift);
    w.ring = new Uint8Array(ring);
    w.next = snap.next;
    w.n = snap.n;
    w.k = snap.k;
    w.active = snap.active;
    w.startedAt = snap.startedAt;
    w.belowSince = snap.belowSince ?? Number.NaN;
    // At or above this h (a window written under a larger ERT), it starts an episode on the next p-value.
    w.s = (snap.v === 4) === partialShift ? Math.round(cusum! / CUSUM_QUANTUM) : 0;
    w.partition = snap.partition;
    w.offset = offset;
    w.lastTs = typeof snap.lastTs === 'number' && Number.isFinite(snap.lastTs) ? snap.lastTs : undefined;
    return w;
  }
}
