/**
 * The camera's own faults over time, per source (docs/DEFINITIONS.md#camera-faults):
 * - a frozen stream: consecutive frames identical or nearly so (the same image re-sent or
 *   re-encoded), by the decode stage's perceptual hash and input statistics;
 * - broken frames: the share of a source's frames that cannot be scored (dead letters), a
 *   flag-count test like the drift test's: a sliding window of the source's last frames,
 *   an episode when its count of broken frames reaches the critical count that the expected
 *   run time between false episodes implies at the baseline rate (ert.ts).
 * Pure state machines: observations in, episode changes out; bounded per source.
 */
import type { BlockDigest, InputStats } from '../contracts/input-stats.js';
import { criticalCountForRunTime, expectedFramesToFalseAlarmAt } from './ert.js';

/** When consecutive frames count as the same picture. */
export interface FrozenOptions {
  /** Consecutive near-identical frames that make a frozen stream (the first frame included). */
  readonly frames: number;
  /** Most bits their 64-bit difference hashes may differ by. */
  readonly maxHashBits: number;
  /**
   * Largest relative change of the Laplacian variance between them: a live camera's sensor
   * noise moves it by more on a still scene; a re-sent or re-encoded picture does not.
   */
  readonly maxSharpnessChange: number;
  /**
   * Least share of the informative blocks of the model's input tensor that must be bit for bit
   * the same (InputStats.blocks): a re-sent picture, or one re-sent under a burned-in clock,
   * has them all or nearly; a live camera's sensor noise changes every textured block, however
   * still the scene. Frames without a digest are judged by the hash and sharpness alone.
   */
  readonly minIdenticalBlocks?: number;
}

export const DEFAULT_FROZEN: FrozenOptions = { frames: 30, maxHashBits: 2, maxSharpnessChange: 1e-3, minIdenticalBlocks: 0.9 };

/** Sources whose state is kept at once; beyond it the longest-unseen source is forgotten (junk keys cannot grow memory). */
export const MAX_SOURCES = 10_000;

/** Moves `source` to the back of the map (most recently seen) and evicts the front beyond MAX_SOURCES. */
function touch<T>(map: Map<string, T>, source: string, value: T): void {
  map.delete(source);
  map.set(source, value);
  if (map.size > MAX_SOURCES) map.delete(map.keys().next().value!);
}

export interface EpisodeChange {
  readonly state: 'started' | 'resolved';
  /** Frozen: the run of near-identical frames so far; broken: broken frames in the window. */
  readonly count: number;
  /** Broken frames: the window's size when it changed. */
  readonly window?: number;
}

interface LastFrame {
  hash: string;
  sharpness: number;
  blocks: BlockDigest | undefined;
  run: number;
  active: boolean;
}

export class FrozenFrameMonitor {
  private readonly last = new Map<string, LastFrame>();

  constructor(readonly options: FrozenOptions = DEFAULT_FROZEN) {}

  /** A scored frame of `source`: the episode it starts or ends, if any. Unmeasured frames (no hash) are skipped. */
  observe(source: string, input: InputStats): EpisodeChange | undefined {
    if (!input.hash) return undefined;
    const sharpness = input.sharpness ?? input.values.input_sharpness;
    const prev = this.last.get(source);
    if (!prev) {
      touch(this.last, source, { hash: input.hash, sharpness, blocks: input.blocks, run: 1, active: false });
      return undefined;
    }
    touch(this.last, source, prev);
    const same = hammingDistance(prev.hash, input.hash) <= this.options.maxHashBits && this.samePicture(prev, input.blocks, sharpness);
    prev.hash = input.hash;
    prev.sharpness = sharpness;
    prev.blocks = input.blocks;
    if (same) {
      prev.run++;
      if (!prev.active && prev.run >= this.options.frames) {
        prev.active = true;
        return { state: 'started', count: prev.run };
      }
      return undefined;
    }
    const ended = prev.active ? { state: 'resolved' as const, count: prev.run } : undefined;
    prev.run = 1;
    prev.active = false;
    return ended;
  }

  /**
   * Beyond the hash: the share of identical blocks where both frames have a digest (a clock
   * burned into a frozen picture changes a few blocks and its sharpness, sensor noise every
   * textured block), else the sharpness within maxSharpnessChange.
   */
  private samePicture(prev: LastFrame, blocks: BlockDigest | undefined, sharpness: number): boolean {
    const min = this.options.minIdenticalBlocks;
    const share = min !== undefined && prev.blocks && blocks ? identicalShare(prev.blocks, blocks) : undefined;
    return share !== undefined ? share >= min! : relativeChange(prev.sharpness, sharpness) <= this.options.maxSharpnessChange;
  }

  isFrozen(source: string): boolean {
    return this.last.get(source)?.active ?? false;
  }

  forget(source: string): void {
    this.last.delete(source);
  }
}

/**
 * The share of informative blocks that are the same in both digests: a block is informative
 * when it has texture in either frame or its sum changed (a flat region that stays flat and
 * level, such as a clipped sky, says nothing). 1 when no block is informative (two identical
 * flat pictures); undefined when the digests are of different grids.
 */
export function identicalShare(a: BlockDigest, b: BlockDigest): number | undefined {
  if (a.sums.length !== b.sums.length) return undefined;
  let informative = 0;
  let identical = 0;
  for (let i = 0; i < a.sums.length; i++) {
    const same = a.sums[i] === b.sums[i];
    if (!a.textured[i] && !b.textured[i] && same) continue;
    informative++;
    if (same) identical++;
  }
  return informative === 0 ? 1 : identical / informative;
}

function relativeChange(a: number, b: number): number {
  if (a === b) return 0;
  return Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));
}

/** Bits that differ between two hex hashes of the same length. */
export function hammingDistance(a: string, b: string): number {
  if (a.length !== b.length) return 64;
  let d = 0;
  for (let i = 0; i < a.length; i += 2) {
    for (let x = parseInt(a.slice(i, i + 2), 16) ^ parseInt(b.slice(i, i + 2), 16); x; x &= x - 1) d++;
  }
  return d;
}

export interface BrokenFrameOptions {
  /** Frames per source in the sliding window. */
  readonly window: number;
  /** Share of a healthy camera's frames that are broken (the null hypothesis). */
  readonly baselineRate: number;
  /** Expected frames between false episodes of one healthy source. */
  readonly expectedRunTime: number;
}

export const DEFAULT_BROKEN: BrokenFrameOptions = { window: 1000, baselineRate: 0.002, expectedRunTime: 18_144_000 };

class Ring {
  readonly bits: Uint8Array;
  next = 0;
  n = 0;
  k = 0;
  active = false;

  constructor(size: number) {
    this.bits = new Uint8Array(size);
  }

  push(broken: boolean): void {
    if (this.n === this.bits.length) this.k -= this.bits[this.next]!;
    else this.n++;
    this.bits[this.next] = broken ? 1 : 0;
    this.k += this.bits[this.next]!;
    this.next = (this.next + 1) % this.bits.length;
  }
}

export class BrokenFrameMonitor {
  /** Broken frames in a full window that start an episode. */
  readonly criticalCount: number;
  /** At or below this many the episode ends (the baseline's expected count, at least 1). */
  readonly resolveCount: number;
  /** Expected frames between false episodes at that count (the upcrossing approximation). */
  readonly runTime: number;
  private readonly rings = new Map<string, Ring>();

  constructor(readonly options: BrokenFrameOptions = DEFAULT_BROKEN) {
    const { window, baselineRate, expectedRunTime } = options;
    this.criticalCount = criticalCountForRunTime(window, baselineRate, expectedRunTime);
    this.resolveCount = Math.max(1, Math.ceil(window * baselineRate));
    this.runTime = expectedFramesToFalseAlarmAt(window, baselineRate, this.criticalCount);
  }

  /** One frame of `source`, broken (dead-lettered) or not: the episode it starts or ends, if any. */
  observe(source: string, broken: boolean): EpisodeChange | undefined {
    const ring = this.rings.get(source) ?? new Ring(this.options.window);
    touch(this.rings, source, ring);
    ring.push(broken);
    if (!ring.active && ring.k >= this.criticalCount) {
      ring.active = true;
      return { state: 'started', count: ring.k, window: ring.n };
    }
    if (ring.active && ring.k <= this.resolveCount) {
      ring.active = false;
      return { state: 'resolved', count: ring.k, window: ring.n };
    }
    return undefined;
  }

  forget(source: string): void {
    this.rings.delete(source);
  }
}
