/**
 * The model package manifest (models/<name>/manifest.json): the input contract the
 * preprocessing follows, the class labels, and provenance. Validated on load so that a
 * bad manifest stops startup with the field and the reason.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, GaiaError } from '../errors.js';

export interface ResizePolicy {
  /** contain: fit inside, keep aspect ratio, pad with background; fill: stretch; cover: crop. */
  readonly mode: 'contain' | 'fill' | 'cover';
  readonly width: number;
  readonly height: number;
  readonly interpolation: 'nearest' | 'bilinear' | 'bicubic';
  readonly background: number;
}

export interface ModelManifest {
  readonly name: string;
  readonly input: {
    readonly name: string;
    /** [batch (null = dynamic), channels, height, width] */
    readonly shape: readonly [null | number, number, number, number];
    readonly channels: 'gray' | 'rgb';
    readonly resize: ResizePolicy;
    readonly scale: number;
    readonly mean: readonly number[];
    readonly std: readonly number[];
  };
  readonly labels: readonly string[];
  readonly provenance?: Record<string, unknown>;
  readonly metrics?: Record<string, unknown>;
}

export interface ModelPackage {
  readonly dir: string;
  readonly manifest: ModelManifest;
  readonly modelPath: string;
}

function bad(path: string, field: string, why: string): never {
  throw new GaiaError(ErrorCodes.BAD_CONFIG, `${path}: "${field}" ${why}`);
}

export function validateManifest(raw: unknown, path: string): ModelManifest {
  const m = raw as Record<string, any>;
  if (typeof m?.name !== 'string' || !m.name) bad(path, 'name', 'must be a non-empty string');
  const input = m.input as Record<string, any> | undefined;
  if (!input || typeof input.name !== 'string') bad(path, 'input.name', 'must name the ONNX graph input');
  const shape = input.shape;
  if (!Array.isArray(shape) || shape.length !== 4 || !shape.slice(1).every((d: unknown) => Number.isInteger(d) && (d as number) > 0)) {
    bad(path, 'input.shape', `must be [batch|null, C, H, W] with positive C, H, W; got ${JSON.stringify(shape)}`);
  }
  if (input.channels !== 'gray' && input.channels !== 'rgb') bad(path, 'input.channels', `must be "gray" or "rgb"; got ${JSON.stringify(input.channels)}`);
  if ((input.channels === 'gray' ? 1 : 3) !== shape[1]) bad(path, 'input.channels', `is ${input.channels} but input.shape has ${shape[1]} channels`);
  const resize = input.resize as Record<string, any> | undefined;
  if (!resize || !['contain', 'fill', 'cover'].includes(resize.mode)) bad(path, 'input.resize.mode', 'must be contain, fill or cover');
  if (resize.width !== shape[3] || resize.height !== shape[2]) bad(path, 'input.resize', `width/height must match input.shape (${shape[3]}x${shape[2]})`);
  if (!['nearest', 'bilinear', 'bicubic'].includes(resize.interpolation ?? 'bilinear')) bad(path, 'input.resize.interpolation', 'must be nearest, bilinear or bicubic');
  for (const key of ['mean', 'std'] as const) {
    const v = input[key];
    if (!Array.isArray(v) || v.length !== shape[1] || !v.every((x: unknown) => typeof x === 'number' && Number.isFinite(x))) {
      bad(path, `input.${key}`, `must list ${shape[1]} finite numbers, one per channel`);
    }
  }
  if (input.std.some((x: number) => x <= 0)) bad(path, 'input.std', `must be positive; got ${JSON.stringify(input.std)}`);
  if (shape[0] !== null && !(Number.isInteger(shape[0]) && shape[0] > 0)) bad(path, 'input.shape', 'batch must be null (dynamic) or a positive integer');
  if (input.scale !== undefined && !(typeof input.scale === 'number' && input.scale > 0)) bad(path, 'input.scale', `must be a positive number; got ${JSON.stringify(input.scale)}`);
  if (resize.background !== undefined && !(Number.isInteger(resize.background) && resize.background >= 0 && resize.background <= 255)) {
    bad(path, 'input.resize.background', `must be an integer 0-255; got ${JSON.stringify(resize.background)}`);
  }
  if (!Array.isArray(m.labels) || m.labels.some((l: unknown) => typeof l !== 'string')) bad(path, 'labels', 'must be a list of class names');
  return {
    name: m.name,
    input: {
      name: input.name,
      shape: shape as unknown as ModelManifest["input"]["shape"],
      channels: input.channels,
      resize: {
        mode: resize.mode,
        width: resize.width,
        height: resize.height,
        interpolation: resize.interpolation ?? 'bilinear',
        background: typeof resize.background === 'number' ? resize.background : 0,
      },
      scale: typeof input.scale === 'number' ? input.scale : 1 / 255,
      mean: input.mean,
      std: input.std,
    },
    labels: m.labels,
    provenance: m.provenance,
    metrics: m.metrics,
  };
}

export async function loadModelPackage(dir: string): Promise<ModelPackage> {
  const path = join(dir, 'manifest.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `no model package at ${dir}: cannot read ${path} (${(cause as Error).message})`, { cause });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `${path} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  return { dir, manifest: validateManifest(raw, path), modelPath: join(dir, 'model.onnx') };
}
