/**
 * How much of a frame's input statistics the decode stage measures (camera.inputStatistics,
 * docs/CONFIG.md): every input head costs +3-15 % of the model's decode CPU at 1080p where
 * the model's decode serves them too, and +58-78 % where a second, small decode must
 * (frames/whole-frame.ts says which), so under `auto` they are measured only while the
 * calibration's rule reads an input head.
 */
import type { Config } from '../config/load.js';
import { isInputHead, type InputMeasure } from '../contracts/input-stats.js';

/** The current calibration's rule heads (undefined: no calibration, no verdicts). */
export type RuleHeads = () => readonly string[] | undefined;

/**
 * The measure for the next frame: asked per frame, it follows a calibration reload at once.
 * The rule's heads are compared by identity, so the scan runs once per calibration.
 */
export function inputMeasure(camera: Readonly<Pick<Config['camera'], 'inputStatistics' | 'frozenFrames'>>, ruleHeads: RuleHeads): () => InputMeasure {
  if (camera.inputStatistics === 'on') return () => 'full';
  if (camera.inputStatistics === 'off') return () => 'none';
  const withoutInputHeads: InputMeasure = camera.frozenFrames > 0 ? 'frozen' : 'none';
  let seen: readonly string[] | undefined;
  let measure: InputMeasure = withoutInputHeads;
  return () => {
    const heads = ruleHeads();
    if (heads !== seen) {
      seen = heads;
      measure = heads?.some(isInputHead) ? 'full' : withoutInputHeads;
    }
    return measure;
  };
}
