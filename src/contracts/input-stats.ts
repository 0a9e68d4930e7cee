/**
 * The input statistics of a frame (docs/DEFINITIONS.md#input-heads), as the decode stage
 * hands them to the judging: the raw value of every input head, and a perceptual hash for
 * frozen-frame detection. frames/input-stats.ts measures them.
 */

/** The input heads, as the verdict rule, the calibration and the records name them. */
export const INPUT_HEADS = ['input_exposure', 'input_contrast', 'input_sharpness', 'input_detail', 'input_octave', 'input_noise', 'input_colourfulness', 'input_flat', 'input_complexity'] as const;
export type InputHead = (typeof INPUT_HEADS)[number];

export function isInputHead(name: string): name is InputHead {
  return (INPUT_HEADS as readonly string[]).includes(name);
}

/** A frame's input statistics; NaN where the frame gives no value (a raw frame has no encoded size). */
export interface InputStats {
  /** Per head, its raw value. */
  readonly values: Readonly<Record<InputHead, number>>;
  /** 64-bit difference hash of the luminance (dHash, 9×8) in hex; empty when the frame could not be measured. */
  readonly hash: string;
  /**
   * The sharpness the frozen-frame check compares when it differs from input_sharpness: the
   * model tensor's Laplacian variance, when only the frozen check measured the frame
   * (frames/tensor-fingerprint.ts). Absent: input_sharpness.
   */
  readonly sharpness?: number;
  /** The model input tensor's block digest, for the frozen-frame check (frames/block-digest.ts); absent where unmeasured. */
  readonly blocks?: BlockDigest;
}

/** Per block of a grid over the model's input tensor: the sum of its values, and 1 where they are not all equal. */
export interface BlockDigest {
  readonly sums: Float64Array;
  readonly textured: Uint8Array;
}

/**
 * How much of a frame's input statistics the decode stage measures (camera.inputStatistics):
 * `full` every input head (from the model's own decode where its resize allows, else a second,
 * small decode), `frozen` only the frozen check's hash and
 * sharpness from the model's own input tensor (no second decode), `none` nothing.
 */
export type InputMeasure = 'full' | 'frozen' | 'none';
