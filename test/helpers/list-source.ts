/** An in-memory message source over a fixed list, for pipeline tests without a broker. */
import type { MessageSource, SourceMessage } from '../../src/contracts/stream.js';

export class ListSource implements MessageSource {
  constructor(private readonly list: readonly SourceMessage[]) {}
  async *messages() {
    for (const m of this.list) yield m;
  }
  async ack(_ms: readonly SourceMessage[]) {}
  pause() {}
  resume() {}
  stop() {}
}
