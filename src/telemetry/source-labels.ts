/**
 * Bounded source labels: Prometheus series per source must stay bounded whatever the
 * number of cameras. An allow-list names the sources that get their own label; without
 * one, the first `topK` sources seen get theirs. Every other source is counted as "other".
 */
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
    if (this.allow.length > 0) return this.allow.includes(source) ? source : 'other';
    if (this.known.has(source)) return source;
    if (this.known.size < this.topK) {
      this.known.add(source);
      return source;
    }
    return 'other';
  }
}
