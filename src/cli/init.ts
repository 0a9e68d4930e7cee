/**
 * `gaia-sentinel init`: a classifier as `torch.onnx.export` wrote it (with its `.onnx.data`),
 * its labels and its preprocessing → a complete model package: manifest.json (validated
 * against schemas/model-manifest.v1.json and against the graph), model.onnx, and the scoring
 * graph compiled in the agent's mode (model.gaia.onnx, with the record that lets run,
 * calibrate and eval reuse it). The package is built in a scratch folder and moved into
 * place only once the scorer has opened it, so a failed init leaves nothing half-made.
 */
import { createHash } from 'node:crypto';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { refuseScoringGraph } from '../compile/classifier.js';
import { evidenceCompileHeads } from '../agent/evidence-wiring.js';
import { DEFAULT_HEADS } from '../compile/heads.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import { fileExists, writeOutput } from '../files.js';
import { validateManifest } from '../model/manifest.js';
import { openModel } from '../model/open-model.js';
import { PRESETS, presetInput, type PresetName, type PresetOptions } from '../model/presets.js';
import { loadModel } from '../onnx/model-io.js';
import { saveModel } from '../onnx/model-save.js';
import { buildInfo } from '../version.js';
import { UsageError, type CliIO } from './io.js';

export const initUsage = `Usage: gaia-sentinel init --onnx FILE --labels FILE|N --out DIR [--preset NAME] [options]

Makes a model package from a classifier exported to ONNX (torch.onnx.export, either exporter;
its model.onnx.data beside it): manifest.json, model.onnx and the compiled scoring graph.
Then calibrate it on frames from your cameras (it prints the command). docs/YOUR-MODEL.md.

  --onnx FILE            the exported classifier (logits as its first output)
  --labels FILE|N        class names, one per line (or a JSON list), in the logits' order;
                         or a count N for class-0 … class-(N-1)
  --out DIR              the package folder to write (refused if it exists, unless --force)
  --preset NAME          how frames become the input tensor (default torchvision):
                         torchvision  Resize(256) + CenterCrop(224), bilinear, ImageNet mean/std
                         timm         the model's pretrained_cfg (--timm-config FILE)
                         letterbox    fit the whole frame, pad the rest (no crop)
                         stretch      fit the whole frame, change its aspect ratio
  --timm-config FILE     timm: json.dump(model.pretrained_cfg) (input_size, crop_pct,
                         interpolation, mean, std)
  --size HxW             input size (default 224x224; timm: its input_size)
  --channels rgb|gray    (default rgb)
  --mean a,b,c --std a,b,c --interpolation nearest|bilinear|bicubic
                         override the preset's
  --name NAME            the model's name in records and calibrations (default: the folder's)
  --input NAME           the graph input (default: its only input)
  --taps SPEC            GAIA-Z's taps (default bn; see gaia-sentinel compile --help)
  --force                replace an existing package folder
  --json                 print one JSON object instead of the text report
`;

const list = (flag: string, v: string | undefined): number[] | undefined => {
  if (v === undefined) return undefined;
  const xs = v.split(',').map(Number);
  if (xs.length === 0 || !xs.every(Number.isFinite)) throw new UsageError(`${flag} must be comma-separated numbers, got "${v}"`, initUsage);
  return xs;
};

function presetOptions(values: Record<string, string | boolean | undefined>, timm: Record<string, unknown> | undefined): PresetOptions {
  const size = values.size as string | undefined;
  const m = size === undefined ? undefined : /^(\d+)x(\d+)$/.exec(size);
  if (size !== undefined && !m) throw new UsageError(`--size must be HxW, e.g. 224x224; got "${size}"`, initUsage);
  const channels = values.channels as string | undefined;
  if (channels !== undefined && channels !== 'rgb' && channels !== 'gray') throw new UsageError(`--channels must be rgb or gray, got "${channels}"`, initUsage);
  const interpolation = values.interpolation as string | undefined;
  if (interpolation !== undefined && !['nearest', 'bilinear', 'bicubic'].includes(interpolation)) throw new UsageError(`--interpolation must be nearest, bilinear or bicubic, got "${interpolation}"`, initUsage);
  const mean = list('--mean', values.mean as string | undefined);
  const std = list('--std', values.std as string | undefined);
  return {
    ...(m ? { size: [Number(m[1]), Number(m[2])] as const } : {}),
    ...(channels ? { channels: channels as 'rgb' | 'gray' } : {}),
    ...(interpolation ? { interpolation: interpolation as 'nearest' | 'bilinear' | 'bicubic' } : {}),
    ...(mean ? { mean } : {}),
    ...(std ? { std } : {}),
    ...(timm ? { timm } : {}),
  };
}

async function readLabels(spec: string): Promise<string[]> {
  if (/^\d+$/.test(spec)) return Array.from({ length: Number(spec) }, (_, i) => `class-${i}`);
  let text: string;
  try {
    text = await readFile(spec, 'utf8');
  } catch (cause) {
    throw new GaiaError(ErrorCodes.IO, `--labels ${spec}: cannot read it (${(cause as Error).message}); give a file with one class name per line, or the number of classes`, { cause });
  }
  if (text.trimStart().startsWith('[')) {
    const parsed = JSON.parse(text) as unknown;
    if (Array.isArray(parsed) && parsed.every((l) => typeof l === 'string')) return parsed;
    throw new UsageError(`--labels ${spec} is a JSON value but not a list of strings`, initUsage);
  }
  return text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
}

async function readJson(flag: string, path: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (cause) {
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `${flag} ${path}: ${(cause as Error).message}`, { cause });
  }
}

export async function initCommand(argv: string[], io: CliIO): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      onnx: { type: 'string' },
      labels: { type: 'string' },
      out: { type: 'string' },
      preset: { type: 'string' },
      'timm-config': { type: 'string' },
      size: { type: 'string' },
      channels: { type: 'string' },
      mean: { type: 'string' },
      std: { type: 'string' },
      interpolation: { type: 'string' },
      name: { type: 'string' },
      input: { type: 'string' },
      taps: { type: 'string' },
      force: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.onnx || !values.labels || !values.out) throw new UsageError('init needs --onnx, --labels and --out', initUsage);
  const preset = (values.preset ?? 'torchvision') as PresetName;
  if (!(PRESETS as readonly string[]).includes(preset)) throw new UsageError(`--preset must be one of ${PRESETS.join(', ')}, got "${values.preset}"`, initUsage);
  const timm = values['timm-config'] ? await readJson('--timm-config', values['timm-config']) : undefined;
  const out = resolve(values.out);
  if ((await fileExists(out)) && !values.force) throw new UsageError(`--out ${values.out} exists: choose another folder, or --force to replace it`, initUsage);
  const model = await loadModel(values.onnx);
  refuseScoringGraph(model, values.onnx);
  const inputs = model.graph.inputs.filter((i) => !model.graph.initializers.has(i.name)).map((i) => i.name);
  const inputName = values.input ?? (inputs.length === 1 ? inputs[0]! : undefined);
  if (!inputName) throw new UsageError(`${values.onnx} has ${inputs.length} inputs (${inputs.join(', ')}): name the image input with --input`, initUsage);
  const labels = await readLabels(values.labels);
  const name = values.name ?? basename(out);
  const manifest = {
    name,
    task: 'image-classification',
    input: presetInput(preset, inputName, presetOptions(values, timm)),
    output: { name: model.graph.outputs[0]!.name, kind: 'logits' },
    labels,
    provenance: {
      source: basename(values.onnx),
      sourceSha256: createHash('sha256').update(await readFile(values.onnx)).digest('hex'),
      createdBy: `gaia-sentinel ${buildInfo().version} init --preset ${preset}`,
      createdAt: new Date().toISOString(),
    },
  };
  const manifestPath = join(values.out, 'manifest.json');
  validateManifest(manifest, manifestPath);
  const scratch = join(dirname(out), `.${basename(out)}.init-${process.pid}`);
  await rm(scratch, { recursive: true, force: true });
  try {
    await writeOutput(join(scratch, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await saveModel(model, join(scratch, 'model.onnx'));
    const pkg = { dir: scratch, manifest: validateManifest(manifest, manifestPath), modelPath: join(scratch, 'model.onnx') };
    // The agent's default request (evidence on: GAIA-Z's per-tap ratios too), so that its first start reuses this graph.
    const heads = [...DEFAULT_HEADS, ...evidenceCompileHeads()];
    const opened = await openModel(pkg, { executionProviders: ['cpu'], requireGpu: false, intraOpThreads: 1, taps: values.taps ?? 'bn', heads, gaiaZMode: 'pattern', keep: true });
    await opened.scorer.close();
    if (await fileExists(out)) await rm(out, { recursive: true });
    await rename(scratch, out);
    report(io, values.json ?? false, { out: values.out, manifest, taps: opened.compiled.taps.length, notes: opened.compiled.notes, bytes: (await stat(join(out, 'model.gaia.onnx'))).size });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function report(io: CliIO, json: boolean, r: { out: string; manifest: { name: string; input: Record<string, unknown>; labels: string[] }; taps: number; notes: readonly string[]; bytes: number }): void {
  const next = `gaia-sentinel calibrate --model ${r.out} --data <a folder of in-distribution frames from your cameras>`;
  if (json) {
    io.stdout.write(`${JSON.stringify({ package: r.out, name: r.manifest.name, input: r.manifest.input, classes: r.manifest.labels.length, taps: r.taps, notes: r.notes, next })}\n`);
    return;
  }
  const input = r.manifest.input as { shape: number[]; resize: { mode: string; crop?: number; interpolation: string } };
  io.stdout.write(
    [
      `wrote ${r.out}: manifest.json, model.onnx, model.gaia.onnx (${(r.bytes / 1e6).toFixed(1)} MB, pattern mode, ${r.taps} taps)`,
      `model ${r.manifest.name}: ${r.manifest.labels.length} classes; input ${input.shape.slice(1).join('x')}, resize ${input.resize.mode}${input.resize.crop ? ` (crop ${input.resize.crop})` : ''}, ${input.resize.interpolation}`,
      ...r.notes.map((n) => `note: ${n}`),
      `next: ${next}`,
      '',
    ].join('\n'),
  );
}
