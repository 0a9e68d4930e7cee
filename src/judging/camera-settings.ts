/** The camera-fault checks the configuration asks for (camera.*). */
import type { Config } from '../config/load.js';
import { DEFAULT_FROZEN } from '../detect/camera-health.js';
import type { CameraFaultOptions } from './camera-faults.js';

export function cameraFaultOptions(camera: Readonly<Config['camera']>): CameraFaultOptions {
  const { window, baselineRate, expectedRunTime } = camera.brokenFrames;
  return {
    ...(camera.frozenFrames > 0 ? { frozen: { ...DEFAULT_FROZEN, frames: camera.frozenFrames } } : {}),
    ...(window > 0 ? { broken: { window, baselineRate, expectedRunTime } } : {}),
  };
}
