/**
 * Bounded source labels: Prometheus series per source must stay bounded whatever the
 * number of cameras and whatever their ids. An allow-list names the sources that get their
 * own label; without one, up to `topK` sources hold a label slot at a time, and a slot is
 * given back when its source is forgotten (idle, or its partition moved away), so a camera
 * that arrives after a burst of junk keys gets a slot once those go quiet. Every other
 * source is counted as "other". Label values are capped in length (prefix and digest).
 */
import { boundedId } from '../contracts/source-id.js';

/** Longest label value, in bytes (Prometheus has no limit; scrapes and TSDB memory do). */
export const MAX_LABEL_BYTES = 64;

export class SourceLabels {
  private readonly known = new Set<string>();

  constructor(
    private readonly allow: readonly string[],
    private readonly topK: number,
  ) {}

  /** Whether the source has a label of its own (without claiming a top-K slot for it). */
  owns(source: string): boolean {
    return this.allow.length > 0 ? this.allow.includes(source) : this.known.has(source);
  }

  label(source: string): string {
    if (this.allow.length > 0) return this.allow.includes(source) ? boundedId(source, MAX_LABEL_BYTES) : 'other';
    if (this.known.has(source)) return boundedId(source, MAX_LABEL_BYTES);
    if (this.known.size < this.topK) {
      this.known.add(source);
      return boundedId(source, MAX_LABEL_BYTES);
    }
    return 'other';
  }

  /** Gives the source's slot back (its series should be removed with it). */
  release(source: string): void {
    this.known.delete(source);
  }
}
