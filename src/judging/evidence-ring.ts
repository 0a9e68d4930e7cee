/**
 * One source's evidence ring: the `size` most anomalous of its recent frames (smallest
 * verdict p-value; the older wins a tie, so a burst of equally atypical frames, as an
 * outright shift gives, does not make a thumbnail per frame), where recent means within the last `window`
 * frames of the source (the drift window), so the ring follows what the drift test sees.
 * A frame is compared with the ring as it is when it arrives (no history is kept): a frame
 * that did not enter does not come back when a more anomalous one leaves the window.
 * Entries are mutable boxes: a frame's thumbnail arrives after it entered, and an episode
 * frozen in between shows it as soon as it is there.
 */
import type { EvidenceFrame } from '../contracts/evidence.js';

export interface RingEntry {
  /** The source's frame counter when it arrived. */
  readonly seq: number;
  /** Its verdict's p-value: smaller is more anomalous. */
  readonly pValue: number;
  frame: EvidenceFrame;
  /** Set when it leaves the ring: its picture need not be made any more. */
  evicted?: boolean;
}

export class EvidenceRing {
  private entries: RingEntry[] = [];
  private seq = 0;

  constructor(
    private readonly size: number,
    private readonly window: number,
  ) {}

  /**
   * Counts a frame; returns the entry it takes when it is among the most anomalous recent
   * ones (the caller fills in the frame), undefined otherwise. Cheap for frames that do not
   * enter: the evidence of a frame is only built for those that do.
   */
  offer(pValue: number): RingEntry | undefined {
    const seq = this.seq++;
    // (No new array per frame: the ring is only rebuilt when a frame has left the window.)
    if (this.entries.some((e) => seq - e.seq >= this.window)) this.entries = this.entries.filter((e) => seq - e.seq < this.window || !(e.evicted = true));
    const p = Number.isNaN(pValue) ? 0 : pValue;
    if (this.entries.length >= this.size) {
      const least = this.leastAnomalous();
      if (!(p < this.entries[least]!.pValue)) return undefined;
      this.entries.splice(least, 1)[0]!.evicted = true;
    }
    const entry: RingEntry = { seq, pValue: p, frame: undefined as unknown as EvidenceFrame };
    this.entries.push(entry);
    return entry;
  }

  /** The entries now, most anomalous first (a copy: later frames do not change it). */
  snapshot(): RingEntry[] {
    return [...this.entries].sort((a, b) => a.pValue - b.pValue || b.seq - a.seq);
  }

  get length(): number {
    return this.entries.length;
  }

  private leastAnomalous(): number {
    let worst = 0;
    for (let i = 1; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      const w = this.entries[worst]!;
      if (e.pValue > w.pValue || (e.pValue === w.pValue && e.seq > w.seq)) worst = i;
    }
    return worst;
  }
}
