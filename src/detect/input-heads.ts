/**
 * Input heads (docs/DEFINITIONS.md#input-heads): the decode stage's statistics of a frame
 * (exposure, contrast, sharpness, colourfulness, flat share, encoded complexity) judged like
 * every other head, by a conformal ID p-value against the calibration frames. A camera fault
 * moves them either way (too dark or too bright, blurred or noisy), so a head's ID-score is
 * its *typicality*: the share of calibration values at least as far out on the frame's own
 * side (two-sided), or above it for a head whose fault is one-sided. The ID p-value is then
 * the frame's typicality ranked among the calibration frames' own (leave-one-out)
 * typicalities, the same conformal rank as every head's, so the verdict rule combines them
 * unchanged. Pure: numbers in, numbers out.
 */
import { INPUT_HEADS, isInputHead, type InputHead } from '../contracts/input-stats.js';
import { countAtOrBelow, countBelow } from './sorted-counts.js';
import type { Judge, Judgement } from './verdict-rule.js';

/**
 * Which values are a fault. Two-sided: exposure (black / blinded), contrast (capped, fogged /
 * blown out), sharpness, detail and octave (defocused or resampled / noisy), colourfulness (a colour camera on a grey model,
 * a grey night mode on a colour one), complexity (an empty frame compresses to nothing, noise
 * to a lot). Upper only: the flat share, which only a fault raises (letterbox bands, a lens
 * cap); a busier frame than usual shows in sharpness and complexity instead. Upper only too: the
 * noise floor, which gain, a failing sensor or interference raise; a frame flatter than usual
 * shows in the flat share.
 */
export const INPUT_HEAD_SIDES: Readonly<Record<InputHead, 'two' | 'upper'>> = {
  input_exposure: 'two',
  input_contrast: 'two',
  input_sharpness: 'two',
  input_detail: 'two',
  input_octave: 'two',
  input_noise: 'upper',
  input_colourfulness: 'two',
  input_flat: 'upper',
  input_complexity: 'two',
};

/** An input head's raw calibration values, sorted, and its sides: what turns a raw value into a typicality. */
export class InputReference {
  constructor(
    readonly head: InputHead,
    readonly sorted: Float64Array,
  ) {}

  static fromValues(head: InputHead, values: ArrayLike<number>): InputReference {
    return new InputReference(head, Float64Array.from(values).sort());
  }

  /**
   * Share of calibration values as far out as `x` on its side (two-sided: the smaller tail;
   * upper: the values ≥ x). Beyond every calibration value it goes below 0, by the distance
   * past the last one (in units of the calibration's range), so that a frame far outside
   * ranks below the calibration's own extremes. `self` leaves one calibration frame of value x
   * out (its own typicality, leave-one-out). NaN (a frame the head cannot measure) is typical:
   * no evidence.
   */
  typicality(x: number, self = false): number {
    if (Number.isNaN(x)) return 1;
    const s = this.sorted;
    const own = self ? 1 : 0;
    const n = s.length - own;
    if (n <= 0) return 1;
    const below = countAtOrBelow(s, x) - own;
    const above = s.length - countBelow(s, x) - own;
    const upper = INPUT_HEAD_SIDES[this.head] === 'upper';
    const tail = upper ? above : Math.min(below, above);
    // Two-sided, the frame c values in from the top and the one c values in from the bottom
    // would tie: the upper one counts half a value more, so that a frame's typicality has one
    // rank among the calibration frames' on either side of it. A tie pair ranked a new frame
    // between them below both, and its p-value came out (2c + 1)/(n + 1) where the conformal
    // law gives (2c + 2)/(n + 1) on average (docs/DEFINITIONS.md#input-heads).
    if (tail > 0) return (tail + (!upper && above < below ? 0.5 : 0)) / n;
    // Past the last value on the short side: the next one in (leaving x itself out) is the gap's end.
    const scale = Math.max(s[s.length - 1]! - s[0]!, 1e-12);
    const past = upper || above === 0 ? x - s[s.length - 1 - own]! : s[own]! - x;
    return -Math.max(0, past) / scale;
  }

  /** Every calibration frame's leave-one-out typicality, in the order given. */
  calibrationTypicalities(values: ArrayLike<number>): Float64Array {
    return Float64Array.from({ length: values.length }, (_, j) => this.typicality(values[j]!, true));
  }
}

/** Every value finite: a head is calibrated only then (raw frames have no encoded complexity). */
export function measurable(values: ArrayLike<number>): boolean {
  if (values.length === 0) return false;
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return false;
  return true;
}

/**
 * A judge whose input heads read typicalities: each scored batch's raw input statistics are
 * turned into typicalities once (the batch's score arrays are the cache key), then the rule
 * (or the head) judges as it would any head.
 */
export class InputAwareJudge implements Judge {
  private lastRaw: Readonly<Record<string, ArrayLike<number>>> | undefined;
  private lastView: Readonly<Record<string, ArrayLike<number>>> = {};

  constructor(
    private readonly inner: Judge,
    private readonly references: ReadonlyMap<string, InputReference>,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  get heads(): readonly string[] {
    return this.inner.heads;
  }

  get rawThreshold(): number {
    return this.inner.rawThreshold;
  }

  get flagRate(): number {
    return this.inner.flagRate;
  }

  /** The inner rule's calibration size: what the drift monitor fits its thresholds to. */
  get referenceSize(): number | undefined {
    return this.inner.referenceSize;
  }

  judge(raw: Readonly<Record<string, ArrayLike<number>>>, i: number): Judgement {
    return this.inner.judge(this.view(raw), i);
  }

  describe(): string {
    return this.inner.describe();
  }

  private view(raw: Readonly<Record<string, ArrayLike<number>>>): Readonly<Record<string, ArrayLike<number>>> {
    if (raw === this.lastRaw) return this.lastView;
    const view: Record<string, ArrayLike<number>> = { ...raw };
    for (const [head, ref] of this.references) {
      const values = raw[head];
      // A batch without input statistics (a scorer's output alone): its frames are unmeasured.
      view[head] = values ? Float64Array.from(values, (x) => ref.typicality(x)) : new Float64Array(batchSize(raw)).fill(1);
    }
    this.lastRaw = raw;
    this.lastView = view;
    return view;
  }
}

function batchSize(raw: Readonly<Record<string, ArrayLike<number>>>): number {
  return Math.max(0, ...Object.values(raw).map((v) => v.length));
}

/** A p-value at or below which an input head is said to have fired in a flagged frame's summary. */
export const INPUT_FIRED_P = 0.05;

/**
 * The one-line input summary of a flagged frame's verdict record: its input heads whose ID
 * p-value is at most INPUT_FIRED_P, most significant first, with their raw values; undefined
 * when none did (the classifier's heads flagged it alone).
 */
export function inputSummary(pValues: Readonly<Record<string, number>> | undefined, raw: (head: string) => number): string | undefined {
  if (!pValues) return undefined;
  const fired = Object.entries(pValues)
    .filter(([h, p]) => isInputHead(h) && p <= INPUT_FIRED_P)
    .sort((a, b) => a[1] - b[1]);
  if (fired.length === 0) return undefined;
  return fired.map(([h, p]) => `${h} p=${p.toPrecision(2)} (${raw(h).toPrecision(3)})`).join(', ');
}

export { INPUT_HEADS, isInputHead };
