/**
 * Configuration of the camera's own faults (docs/DEFINITIONS.md#camera-faults): frozen
 * streams and broken-frame episodes per source. Assembled in schema.ts.
 */
export const cameraSchema = {
  inputStatistics: {
    doc: "When to measure each frame's input statistics. auto: the input heads (a second, small decode: exposure, contrast, sharpness, colourfulness, flat share, encoded complexity) only while the loaded calibration's verdict rule names an input head (a reloaded calibration switches it); otherwise, with camera.frozenFrames on, only the frozen-frame check's perceptual hash and sharpness, from the model's own input tensor (no second decode). on: always the second decode, for the rule and the frozen check. off: nothing (the input heads see no evidence, no frame is frozen).",
    format: ['auto', 'on', 'off'],
    default: 'auto',
    env: 'GAIA_CAMERA_INPUT_STATISTICS',
  },
  frozenFrames: {
    doc: 'Consecutive frames of one source that are the same picture (difference hashes within 2 bits, and at least 90 % of the informative blocks of the model input tensor bit for bit the same) before a frozen-frame event; 0: not checked.',
    format: 'nat',
    default: 30,
    env: 'GAIA_CAMERA_FROZEN_FRAMES',
  },
  brokenFrames: {
    window: {
      doc: 'Frames per source (scored and dead-lettered) in the sliding window of the broken-frame test; 0: not checked.',
      format: 'nat',
      default: 1000,
      env: 'GAIA_CAMERA_BROKEN_WINDOW',
    },
    baselineRate: {
      doc: "Share of a healthy camera's frames that cannot be scored (dead letters): the null hypothesis of the broken-frame test.",
      format: 'probability',
      default: 0.002,
      env: 'GAIA_CAMERA_BROKEN_BASELINE_RATE',
    },
    expectedRunTime: {
      doc: 'Expected frames between false broken-frames episodes of one healthy source, as drift.expectedRunTime for drift (default: once a week at 30 fps); it sets the critical count.',
      format: 'positive-int',
      default: 18_144_000,
      env: 'GAIA_CAMERA_BROKEN_EXPECTED_RUN_TIME',
    },
  },
};
