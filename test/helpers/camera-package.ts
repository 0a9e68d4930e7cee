/**
 * A user's RGB model package, made the way docs/YOUR-MODEL.md makes one, with this checkout's
 * built CLI: the fixture export (test/fixtures/camera-model) through `gaia-sentinel init
 * --preset torchvision`, then `gaia-sentinel calibrate` on camera frames of one scene
 * (helpers/camera-frames.ts). Smaller frames than the walkthrough's, and fewer: what is
 * tested with it is where the package goes, not the calibration's quality.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cameraFrame, writeFrames, type FrameSize } from './camera-frames.js';

const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'camera-model');
/** Frames for calibrate: the fewest it accepts without --force is 200. */
const CALIBRATION_FRAMES = 300;
export const PACKAGE_FRAME_SIZE: FrameSize = { width: 640, height: 360 };

function cli(args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [join(ROOT, 'bin', 'gaia-sentinel.js'), ...args], { cwd, maxBuffer: 16 * 1024 * 1024, timeout: 600_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`gaia-sentinel ${args.join(' ')} failed: ${err.message}\n${stderr.slice(-3000)}`)) : resolve(stdout),
    );
  });
}

/** Makes `<work>/my-camera-model` (manifest, model, compiled scoring graph, calibration.json) and returns its path. */
export async function makeCameraPackage(work: string): Promise<string> {
  mkdirSync(work, { recursive: true });
  const pkg = join(work, 'my-camera-model');
  copyFileSync(join(FIXTURE, 'model.onnx'), join(work, 'model.onnx'));
  copyFileSync(join(FIXTURE, 'labels.txt'), join(work, 'labels.txt'));
  await writeFrames(join(work, 'calibration-frames'), CALIBRATION_FRAMES, 11, (_, random) => cameraFrame(random, PACKAGE_FRAME_SIZE));
  await cli(['init', '--onnx', 'model.onnx', '--labels', 'labels.txt', '--out', pkg, '--preset', 'torchvision'], work);
  await cli(['calibrate', '--model', pkg, '--data', join(work, 'calibration-frames')], work);
  return pkg;
}
