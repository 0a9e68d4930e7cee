/**
 * The model package manifest (models/<name>/manifest.json): the input contract the
 * preprocessing follows, the class labels, and provenance. Validated strictly on load
 * against schemas/model-manifest.v1.json (an unknown or misspelt key, a value of the wrong
 * kind) and then for what a schema cannot say (channels against the shape, the resize size
 * against the input size), so that a bad manifest stops startup with the field and the reason.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import { packageRoot } from '../version.js';

export interface ResizePolicy {
  /** contain: fit inside, keep aspect ratio, pad with background; fill: stretch; cover: crop. */
  readonly mode: 'contain' | 'fill' | 'cover';
  readonly width: number;
  readonly height: number;
  readonly interpolation: 'nearest' | 'bilinear' | 'bicubic';
  readonly background: number;
  /** cover: the share of the scaled frame's shorter side the centre crop keeps (absent: 1, all of it). */
  readonly crop?: number;
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
  /** The graph's logits output, when the manifest names it (else the graph's first output). */
  readonly output?: { readonly name: string };
  readonly labels: readonly string[];
  readonly provenance?: Record<string, unknown>;
  readonly metrics?: Record<string, unknown>;
}

export interface ModelPackage {
  readonly dir: string;
  readonly manifest: ModelManifest;
  readonly modelPath: string;
}

export const MANIFEST_SCHEMA = 'schemas/model-manifest.v1.json';

let validator: ValidateFunction | undefined;

function schemaValidator(): ValidateFunction {
  if (validator) return validator;
  const schema = JSON.parse(readFileSync(join(packageRoot(), MANIFEST_SCHEMA), 'utf8')) as object;
  validator = new Ajv2020({ allErrors: true, strict: true }).compile(schema);
  return validator;
}

function bad(path: string, field: string, why: string): never {
  throw new GaiaError(ErrorCodes.BAD_CONFIG, `${path}: "${field}" ${why} (the format: ${MANIFEST_SCHEMA}, docs/YOUR-MODEL.md)`);
}

/** One schema violation in words, naming the field as a dotted path. */
function violation(path: string, e: ErrorObject): never {
  // A list's item is named by the list and its index: "input.std" item 0.
  const parts = e.instancePath.split('/').slice(1);
  const index = parts.length > 0 && /^\d+$/.test(parts.at(-1)!) ? parts.pop() : undefined;
  const field = parts.join('.') || '(the manifest)';
  if (index !== undefined) bad(path, field, `item ${index} ${e.message ?? 'is not valid'}`);
  if (e.keyword === 'additionalProperties') {
    const key = (e.params as { additionalProperty: string }).additionalProperty;
    bad(path, field === '(the manifest)' ? key : `${field}.${key}`, 'is not a manifest field: remove it or fix its spelling');
  }
  if (e.keyword === 'required') bad(path, `${field === '(the manifest)' ? '' : `${field}.`}${(e.params as { missingProperty: string }).missingProperty}`, 'is missing');
  if (e.keyword === 'enum' || e.keyword === 'const') {
    const allowed = e.keyword === 'enum' ? (e.params as { allowedValues: unknown[] }).allowedValues : [(e.params as { allowedValue: unknown }).allowedValue];
    bad(path, field, `must be ${allowed.map((v) => JSON.stringify(v)).join(' or ')}`);
  }
  bad(path, field, e.message ?? 'is not valid');
}

export function validateManifest(raw: unknown, path: string): ModelManifest {
  const validate = schemaValidator();
  if (!validate(raw)) {
    // The most specific error first: a wrong value names its own field, not a parent's oneOf.
    const errors = [...(validate.errors ?? [])].sort((a, b) => b.instancePath.length - a.instancePath.length || Number(a.keyword === 'oneOf') - Number(b.keyword === 'oneOf'));
    violation(path, errors[0]!);
  }
  const m = raw as Record<string, any>;
  const input = m.input as Record<string, any>;
  const shape = input.shape as [null | number, number, number, number];
  const resize = input.resize as Record<string, any>;
  if ((input.channels === 'gray' ? 1 : 3) !== shape[1]) bad(path, 'input.channels', `is ${input.channels} but input.shape has ${shape[1]} channels`);
  if (resize.width !== shape[3] || resize.height !== shape[2]) bad(path, 'input.resize', `width/height must match input.shape (${shape[3]}x${shape[2]})`);
  for (const key of ['mean', 'std'] as const) {
    if (input[key].length !== shape[1]) bad(path, `input.${key}`, `must list ${shape[1]} numbers, one per channel`);
  }
  if (resize.crop !== undefined && resize.mode !== 'cover') bad(path, 'input.resize.crop', `applies to mode "cover" only (mode is "${resize.mode}")`);
  return {
    name: m.name,
    input: {
      name: input.name,
      shape,
      channels: input.channels,
      resize: {
        mode: resize.mode,
        width: resize.width,
        height: resize.height,
        interpolation: resize.interpolation ?? 'bilinear',
        background: typeof resize.background === 'number' ? resize.background : 0,
        // Only when it crops: a package without it keeps its fingerprint (model/fingerprint.ts).
        ...(resize.crop !== undefined && resize.crop !== 1 ? { crop: resize.crop } : {}),
      },
      scale: typeof input.scale === 'number' ? input.scale : 1 / 255,
      mean: input.mean,
      std: input.std,
    },
    ...(m.output ? { output: { name: m.output.name } } : {}),
    labels: m.labels,
    provenance: m.provenance,
    metrics: m.metrics,
  };
}

/** A package shipped with gaia-sentinel (models/ of the installed package): nothing writes into it. */
export function isBundledPackage(dir: string): boolean {
  return resolve(dir).startsWith(resolve(packageRoot(), 'models') + sep);
}

export async function loadModelPackage(dir: string): Promise<ModelPackage> {
  const path = join(dir, 'manifest.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `no model package at ${dir}: cannot read ${path} (${(cause as Error).message}); make one with gaia-sentinel init`, { cause });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `${path} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  return { dir, manifest: validateManifest(raw, path), modelPath: join(dir, 'model.onnx') };
}
