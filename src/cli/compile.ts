/** `gaia-sentinel compile`: model.onnx → scoring graph, printing the taps and op counts. */
import { parseArgs } from 'node:util';
import { compileModelFile, DEFAULT_HEADS, HEAD_NAMES, parseGaiaZMode } from '../compile/index.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import { DEFAULT_ODIN } from '../compile/heads/odin.js';
import { readFeatureStats } from '../calibration/calibration-file.js';
import { UsageError, type CliIO } from './io.js';
import { parseHeadList } from './methods.js';

export const compileUsage = `Usage: gaia-sentinel compile --model in.onnx --out out.gaia.onnx [--taps SPEC] [--heads LIST] [--gaia-z-mode pattern|pattern-exact|float]
       [--calibration FILE] [--odin-epsilon E] [--odin-temperature T] [--odin-std S[,S...]] [--debug] [--json]

Rewrites an ONNX CNN classifier into a scoring graph that computes the logits, the
backward pass GAIA needs, and the score heads in one session.run.

  --model FILE   the classifier's .onnx file (not the package folder run/calibrate/eval take;
                 first output: [batch, classes] logits, or a final Softmax)
  --out PATH     where to write the scoring graph
  --taps SPEC    bn (default: every BatchNorm output, or Conv with BN folded in),
                 stages:N (the bn taps of the last N stages), name:REGEX (node names),
                 op:TYPE[,TYPE] (every node of those op types, e.g. op:LayerNormalization)
  --heads LIST   comma-separated, from: ${HEAD_NAMES.join(', ')}
                 (default: ${DEFAULT_HEADS.join(',')})
  --gaia-z-mode MODE
                 pattern (default, as the agent scores): GAIA-Z propagates only where
                 the gradient is non-zero (the float mode's scores at a fraction of the
                 cost; falls back to float, with a note, where that cannot be proven
                 exact); HardSwish/HardSigmoid masks read from their outputs, which
                 keeps onnxruntime's fused Conv+activation kernels (docs/COMPILER.md);
                 pattern-exact: the same with those masks read from their inputs, as
                 autograd does (exact at every input, slower on MobileNetV3);
                 float: GAIA-Z counts the zeros of the float gradient
  --calibration FILE
                 a calibration made with calibrate --stats-data: the feature statistics
                 the react and mahalanobis heads are built with
  --odin-epsilon E, --odin-temperature T
                 ODIN's input perturbation (default 0.004; 0 skips it) and temperature
                 (default 1000)
  --odin-std S,...
                 the per-channel std of the model's input normalisation (ODIN steps ε in
                 pixel units, as the official code; default 1)
  --debug        also output every tap's value and gradient (debug/...; in pattern
                 mode debug/grad/<i> holds the 0/1 pattern)
  --json         print one JSON object (the same facts) instead of the text report
`;

export async function compileCommand(argv: string[], io: CliIO): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      out: { type: 'string' },
      taps: { type: 'string' },
      heads: { type: 'string' },
      'gaia-z-mode': { type: 'string' },
      calibration: { type: 'string' },
      'odin-epsilon': { type: 'string' },
      'odin-temperature': { type: 'string' },
      'odin-std': { type: 'string' },
      debug: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.model || !values.out) throw new UsageError('compile needs --model and --out', compileUsage);
  const number = (flag: string, v: string | undefined, fallback: number, ok: (x: number) => boolean) => {
    if (v === undefined) return fallback;
    const x = Number(v);
    if (!ok(x)) throw new GaiaError(ErrorCodes.BAD_CONFIG, `${flag} must be ${flag === '--odin-epsilon' ? 'a number ≥ 0' : 'a number > 0'}, got "${v}"`);
    return x;
  };
  const odin = {
    epsilon: number('--odin-epsilon', values['odin-epsilon'], DEFAULT_ODIN.epsilon, (x) => Number.isFinite(x) && x >= 0),
    temperature: number('--odin-temperature', values['odin-temperature'], DEFAULT_ODIN.temperature, (x) => Number.isFinite(x) && x > 0),
    inputStd: values['odin-std'] === undefined ? [] : values['odin-std'].split(',').map((v) => number('--odin-std', v, 1, (x) => Number.isFinite(x) && x > 0)),
  };
  const featureStats = values.calibration ? await readFeatureStats(values.calibration) : undefined;
  const result = await compileModelFile(values.model, values.out, {
    headSettings: { odin, ...(featureStats ? { featureStats } : {}) },
    ...(values.taps ? { taps: values.taps } : {}),
    ...(values.heads ? { heads: parseHeadList(values.heads) } : {}),
    gaiaZMode: parseGaiaZMode(values['gaia-z-mode'] ?? 'pattern'),
    debug: values.debug ?? false,
  });
  if (values.json) {
    const report = {
      model: values.model,
      out: values.out,
      logits: result.logits,
      numClasses: result.numClasses,
      heads: result.heads,
      gaiaZMode: result.gaiaZMode,
      taps: result.taps.map((t) => ({ node: t.node, tensor: t.tensor, opType: t.opType, shape: t.shape, reason: t.reason })),
      notes: result.notes,
      opCounts: result.opCounts,
    };
    io.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  const lines = [
    `compiled ${values.model} → ${values.out}`,
    `logits: "${result.logits}" (${result.numClasses} classes); heads: ${result.heads.join(', ')}; gaia_z mode: ${result.gaiaZMode}`,
    `taps (${result.taps.length}):`,
    ...result.taps.map((t, i) => `  ${String(i).padStart(3)}  ${t.node}  [${t.shape.join(', ')}]  (${t.reason})`),
    ...result.notes.map((n) => `note: ${n}`),
    'op counts:',
    ...Object.entries(result.opCounts)
      .sort((a, b) => b[1] - a[1])
      .map(([op, n]) => `  ${op.padEnd(22)} ${n}`),
  ];
  io.stdout.write(`${lines.join('\n')}\n`);
}
