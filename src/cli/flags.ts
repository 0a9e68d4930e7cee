/**
 * Command-line flags every command reads the same way, checked: a bad value is
 * GAIA_BAD_CONFIG (exit 2) naming the flag and the value.
 */
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ErrorCodes, GaiaError } from '../errors.js';
import { UsageError } from './io.js';

/** A whole number ≥ min (1 unless said), or the fallback when the flag is absent. */
export function wholeNumber(flag: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min) {
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `${flag} must be ${min === 1 ? 'a positive integer' : `a whole number ≥ ${min}`}, got "${value}"`);
  }
  return n;
}

/** A fraction in [0, 1], or the fallback when the flag is absent. */
export function fraction(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const f = Number(value);
  if (value.trim() === '' || !(f >= 0 && f <= 1)) throw new GaiaError(ErrorCodes.BAD_CONFIG, `${flag} must be a fraction between 0 and 1, got "${value}"`);
  return f;
}

/**
 * What `--model` names in each command that has it. compile reads the classifier's .onnx
 * file; every other command the model package folder (manifest.json + model.onnx).
 */
export const MODEL_FLAG_KIND: Readonly<Record<string, 'file' | 'folder'>> = { compile: 'file', run: 'folder', calibrate: 'folder', eval: 'folder', bench: 'folder' };

/** The last value of `--flag V` / `--flag=V` before any `--`, as parseArgs reads it. */
export function flagValue(argv: readonly string[], flag: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < argv.length && argv[i] !== '--'; i++) {
    const arg = argv[i]!;
    if (arg === `--${flag}`) value = argv[i + 1];
    else if (arg.startsWith(`--${flag}=`)) value = arg.slice(flag.length + 3);
  }
  return value;
}

/**
 * Refuses a `--model` path of the wrong kind for `command`, saying which kind it takes and
 * what to pass instead. A path that does not exist is left to the command, which names it.
 */
export async function checkModelFlag(command: string, argv: readonly string[]): Promise<void> {
  const kind = MODEL_FLAG_KIND[command];
  const path = flagValue(argv, 'model');
  if (!kind || !path) return;
  const info = await stat(path).catch(() => undefined);
  if (!info) return;
  if (kind === 'file' && info.isDirectory()) {
    const inside = join(path, 'model.onnx');
    throw new UsageError(
      `--model for ${command} is an ONNX file; got a folder (${path}): pass the classifier's .onnx file, e.g. --model ${(await isFile(inside)) ? inside : join(path, '<model>.onnx')} ` +
        '(run/calibrate/eval/bench take the package folder)',
    );
  }
  if (kind === 'folder' && !info.isDirectory()) {
    const folder = dirname(path);
    const isPackage = await isFile(join(folder, 'manifest.json'));
    throw new UsageError(
      `--model for ${command} is the model package folder (manifest.json + model.onnx); got the file ${path}: ` +
        (isPackage ? `pass its folder, --model ${folder}` : 'pass the folder holding manifest.json and model.onnx (compile takes the .onnx file)'),
    );
  }
}

const isFile = (path: string) => stat(path).then((s) => s.isFile(), () => false);
