/** Offsets of one partition: delivered in order, committable up to the first unacknowledged. */
export class PartitionOffsets {
  private readonly pending: bigint[] = [];
  private readonly acked = new Set<bigint>();

  delivered(offset: bigint): void {
    this.pending.push(offset);
  }

  ack(offset: bigint): void {
    this.acked.add(offset);
  }

  /** The next offset to commit, if the acknowledged prefix grew. */
  advance(): bigint | undefined {
    let next: bigint | undefined;
    while (this.pending.length > 0 && this.acked.has(this.pending[0]!)) {
      const o = this.pending.shift()!;
      this.acked.delete(o);
      next = o + 1n;
    }
    return next;
  }
}
