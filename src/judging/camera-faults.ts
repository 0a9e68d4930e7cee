/**
 * The camera's own faults, judged per source beside the verdicts (docs/DEFINITIONS.md#camera-faults):
 * a frozen stream (from each scored frame's input statistics) and an improbable share of
 * broken frames (every scored frame counts as whole, every dead-lettered one as broken). Each
 * episode that starts or ends becomes a frozen-frame or broken-frames event.
 */
import type { CameraFaultEvent, FrameRef, Provenance, VerdictRecord } from '../contracts/events.js';
import type { InputStats } from '../contracts/input-stats.js';
import type { SourceMessage } from '../contracts/stream.js';
import { BrokenFrameMonitor, FrozenFrameMonitor, type BrokenFrameOptions, type EpisodeChange, type FrozenOptions } from '../detect/camera-health.js';

export interface CameraFaultOptions {
  /** Frozen streams; absent: not checked. */
  readonly frozen?: FrozenOptions;
  /** Broken-frame episodes; absent: not checked. */
  readonly broken?: BrokenFrameOptions;
}

export class CameraFaults {
  readonly frozen: FrozenFrameMonitor | undefined;
  readonly broken: BrokenFrameMonitor | undefined;

  constructor(options: CameraFaultOptions) {
    this.frozen = options.frozen ? new FrozenFrameMonitor(options.frozen) : undefined;
    this.broken = options.broken ? new BrokenFrameMonitor(options.broken) : undefined;
  }

  /** A judged batch: its frames' records and input statistics (in the same order). */
  scored(records: readonly VerdictRecord[], inputs: readonly InputStats[] | undefined, provenance: Provenance): CameraFaultEvent[] {
    const events: CameraFaultEvent[] = [];
    records.forEach((r, i) => {
      const ref = frameRefOf(r);
      const at = r.capturedAt ?? r.scoredAt;
      const input = inputs?.[i];
      const frozen = input ? this.frozen?.observe(r.source, input) : undefined;
      if (frozen) events.push(this.event('frozen-frame', frozen, r.source, ref, at, provenance));
      const broken = this.broken?.observe(r.source, false);
      if (broken) events.push(this.event('broken-frames', broken, r.source, ref, at, provenance));
    });
    return events;
  }

  /** A frame of `message`'s source that could not be scored (dead-lettered) at `at`. */
  rejected(message: SourceMessage, at: number, provenance: Provenance): CameraFaultEvent[] {
    const change = this.broken?.observe(message.source, true);
    if (!change) return [];
    return [this.event('broken-frames', change, message.source, { frameId: message.frameId, ...message.origin }, message.ts ?? at, provenance)];
  }

  forget(sources: Iterable<string>): void {
    for (const s of sources) {
      this.frozen?.forget(s);
      this.broken?.forget(s);
    }
  }

  private event(type: CameraFaultEvent['type'], change: EpisodeChange, source: string, trigger: FrameRef, ts: number, provenance: Provenance): CameraFaultEvent {
    const broken = type === 'broken-frames' && this.broken ? { window: change.window ?? 0, criticalCount: this.broken.criticalCount, baselineRate: this.broken.options.baselineRate } : {};
    return { type, state: change.state, source, count: change.count, ...broken, trigger, ts, ...provenance } as CameraFaultEvent;
  }
}

function frameRefOf(r: VerdictRecord): FrameRef {
  return {
    frameId: r.frameId,
    ...(r.topic === undefined ? {} : { topic: r.topic }),
    ...(r.partition === undefined ? {} : { partition: r.partition }),
    ...(r.offset === undefined ? {} : { offset: r.offset }),
  };
}
