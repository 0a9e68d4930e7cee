/**
 * Replays image files as one camera's stream, paced at a frame rate, in phases: each
 * phase is a folder replayed in file-name order a number of times. The default replays a
 * model package's samples (ID frames, then OOD frames, then ID again), so a newcomer sees
 * a drift episode start and end with no broker.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, GaiaError } from '../errors.js';
import { readBounded } from '../files.js';
import type { FrameSource, RevokedPartitions, SourceHealth, SourceMessage } from '../contracts/stream.js';

export interface ReplayPhase {
  readonly dir: string;
  readonly repeat: number;
}

export interface ReplayOptions {
  readonly phases: readonly ReplayPhase[];
  /** Source id of the replayed stream (the Kafka key it stands for). */
  readonly source: string;
  /** Frames per second; 0 replays as fast as the pipeline takes them. */
  readonly fps: number;
  /**
   * The frame byte limit (frames.maxBytes): files are read up to one byte past it, so a
   * larger file is dead-lettered as too-large without being read whole (default 8 MiB).
   */
  readonly maxBytes?: number;
}

/** "dir" or "dir*N" (replay N times). */
export function parsePhase(spec: string): ReplayPhase {
  const m = /^(.*)\*(\d+)$/.exec(spec);
  return m ? { dir: m[1]!, repeat: Number(m[2]) } : { dir: spec, repeat: 1 };
}

export class ReplaySource implements FrameSource {
  private gate: Promise<void> | undefined;
  private stopped = false;
  private open: (() => void) | undefined;
  private delivered = 0;
  acked = 0;

  private constructor(
    private readonly files: ReadonlyArray<{ phase: ReplayPhase; names: string[] }>,
    private readonly options: ReplayOptions,
  ) {}

  static async create(options: ReplayOptions): Promise<ReplaySource> {
    const files = [];
    for (const phase of options.phases) {
      let entries: string[];
      try {
        entries = await readdir(phase.dir);
      } catch (cause) {
        throw new GaiaError(ErrorCodes.BAD_CONFIG, `replay folder ${phase.dir} cannot be read: ${(cause as Error).message}`, { cause });
      }
      // Every regular file is replayed: one that is not an image goes to the DLQ, as on Kafka.
      const names: string[] = [];
      for (const n of entries.sort()) if (!n.startsWith('.') && (await stat(join(phase.dir, n))).isFile()) names.push(n);
      if (names.length === 0) throw new GaiaError(ErrorCodes.BAD_CONFIG, `replay folder ${phase.dir} holds no files`);
      files.push({ phase, names });
    }
    return new ReplaySource(files, options);
  }

  get description(): string {
    const phases = this.options.phases.map((p) => `${p.dir}${p.repeat > 1 ? `*${p.repeat}` : ''}`).join(', ');
    return `replaying ${this.count} frames as source "${this.options.source}" at ${this.options.fps || 'full'} fps: ${phases}`;
  }

  get count(): number {
    return this.files.reduce((a, f) => a + f.names.length * f.phase.repeat, 0);
  }

  async *messages(): AsyncIterable<SourceMessage> {
    const interval = this.options.fps > 0 ? 1000 / this.options.fps : 0;
    const start = Date.now();
    let i = 0;
    for (const { phase, names } of this.files) {
      for (let r = 0; r < phase.repeat; r++) {
        for (const name of names) {
          if (this.gate) await this.gate;
          if (this.stopped) return;
          const due = start + i * interval;
          if (interval > 0 && due > Date.now()) await sleep(due - Date.now());
          this.delivered++;
          yield {
            source: this.options.source,
            frameId: `${basename(phase.dir)}/${name}`,
            value: await readBounded(join(phase.dir, name), this.options.maxBytes ?? 8 * 1024 * 1024),
            headers: {},
            // Whole milliseconds, as a ts header carries them (the contract's frame times are integers).
            ts: interval > 0 ? Math.round(due) : Date.now(),
            origin: { topic: 'replay', offset: String(i) },
          };
          i++;
        }
      }
    }
  }

  async ack(messages: readonly SourceMessage[]): Promise<void> {
    this.acked += messages.length;
  }

  pause(): void {
    this.gate ??= new Promise((r) => (this.open = r));
  }

  resume(): void {
    this.open?.();
    this.gate = undefined;
  }

  /** Frames still to replay, as a one-partition "consumer lag". */
  lag(): ReadonlyMap<number, number> {
    return new Map([[0, this.count - this.delivered]]);
  }

  /** Ends the replay after the current frame. */
  stop(): void {
    this.stopped = true;
    this.resume();
  }

  /** Files need no connection: always ready while replaying. */
  health(): SourceHealth {
    return { ready: !this.stopped, live: true, detail: {} };
  }

  /** A replay has no partitions to lose. */
  onRevoked(_listener: (revoked: RevokedPartitions) => void): void {}

  /** Nor any to gain. */
  onAssigned(_listener: (partitions: readonly number[]) => Promise<void>): void {}

  async close(): Promise<void> {
    this.stop();
  }

  async abort(): Promise<void> {
    this.stop();
  }
}
