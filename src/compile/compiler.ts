/**
 * The scoring-graph compiler: parse → infer shapes → pick taps → append the backward
 * passes and score heads → verify. The result computes the logits and every requested
 * score for a whole batch in one session.run.
 */
import { defaultOpset, renameTensors, type Graph, type Model, type Node, type ValueInfo } from '../onnx/graph.js';
import { DataType } from '../onnx/schema.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import { GraphBuilder } from './builder.js';
import { findLogits } from './classifier.js';
import { inferShapesForCompile } from './op-support.js';
import { buildHeads, DEFAULT_HEADS, GAIA_Z_MODES, HEAD_NAMES, type GaiaZMode, type HeadName, type HeadSettings } from './heads.js';
import { exportTraces, selectTaps, type Tap } from './taps.js';
import { verifyGraph } from './verify.js';
import { assertBatchFlows, withDynamicBatch, type DynamicBatch } from './dynamic-batch.js';

/** Default-domain opsets whose operator spellings the emitter knows. */
export const MIN_OPSET = 13;
export const MAX_OPSET = 22;

export interface CompileOptions {
  /** Tap selection: "bn" (default), "stages:N", "name:REGEX" or "op:TYPE[,TYPE]". */
  readonly taps?: string;
  readonly heads?: readonly HeadName[];
  /** Also output every tap's value and gradient ("debug/..." outputs). */
  readonly debug?: boolean;
  /**
   * "float" (default): GAIA-Z counts the zeros of the float gradient. "pattern": it
   * propagates only where the gradient is non-zero (docs/COMPILER.md, Pattern mode), falling
   * back to "float" with a note where that cannot be proven exact.
   */
  readonly gaiaZMode?: GaiaZMode;
  /** Feature statistics (react, mahalanobis) and ODIN's settings; see docs/COMPILER.md. */
  readonly headSettings?: HeadSettings;
}

export interface CompileResult {
  readonly model: Model;
  readonly taps: readonly Tap[];
  /** What the tap selection inferred rather than read from the export (said in the compile output). */
  readonly notes: readonly string[];
  readonly heads: readonly HeadName[];
  /** How the GAIA-Z head was built (a requested "pattern" may have fallen back to "float"). */
  readonly gaiaZMode: GaiaZMode;
  readonly logits: string;
  readonly numClasses: number;
  /** Node count per op type in the compiled graph. */
  readonly opCounts: Readonly<Record<string, number>>;
}

export function parseHeads(list: string): HeadName[] {
  const heads = list.split(',').map((h) => h.trim()).filter(Boolean);
  for (const h of heads) {
    if (!(HEAD_NAMES as readonly string[]).includes(h)) {
      throw new GaiaError(ErrorCodes.BAD_CONFIG, `unknown head "${h}"; choose from ${HEAD_NAMES.join(', ')}`);
    }
  }
  return heads as HeadName[];
}

export function parseGaiaZMode(mode: string): GaiaZMode {
  if (!(GAIA_Z_MODES as readonly string[]).includes(mode)) {
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `unknown GAIA-Z mode "${mode}"; choose from ${GAIA_Z_MODES.join(', ')}`);
  }
  return mode as GaiaZMode;
}

export function compileScoringGraph(model: Model, options: CompileOptions = {}): CompileResult {
  const opset = defaultOpset(model);
  if (opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new GaiaError(
      ErrorCodes.UNSUPPORTED_OPSET,
      `the model imports ONNX opset ${opset}; the compiler supports opsets ${MIN_OPSET}–${MAX_OPSET}. ` +
        `Re-export with torch.onnx.export(..., opset_version=17) or convert with onnx.version_converter`,
    );
  }
  verifyGraph(model.graph);
  const staticInfo = inferShapesForCompile(model.graph, opset);
  const batch = withDynamicBatch(model.graph, staticInfo);
  let graph = batch.graph;
  // Shapes change only where a fixed batch was made dynamic.
  let info = batch.exportBatch === undefined ? staticInfo : inferWithBatch(graph, opset, batch);
  const cls = findLogits(graph, info);
  // A model whose final Softmax output is called "logits" keeps that tensor under another
  // name: the output "logits" of a scoring graph always holds the pre-softmax scores.
  const defined = new Set(graph.nodes.flatMap((n) => n.outputs));
  const clashes = HEAD_NAMES.filter((h) => defined.has(h) && h !== cls.logits);
  if (clashes.length > 0) {
    graph = renameTensors(graph, new Map(clashes.map((h) => [h, `${h}/model_output`])));
    info = inferShapesForCompile(graph, opset);
  }
  const selection = selectTaps(graph, info, options.taps ?? 'bn', exportTraces(model));
  const taps = selection.taps;
  assertBatchFlows(graph, info, batch, [cls.logits, ...taps.map((t) => t.tensor)]);
  const notes = [
    ...(batch.exportBatch === undefined
      ? []
      : [
          `the model was exported with a fixed batch of ${batch.exportBatch}; the scoring graph takes any batch ` +
            `(input axis 0 made dynamic, ${batch.adjusted.length} Reshape/Resize target(s) copy the batch)`,
        ]),
    ...selection.notes,
  ];
  const heads = options.heads ?? DEFAULT_HEADS;
  const taken = new Set<string>([
    ...graph.nodes.flatMap((n) => [n.name, ...n.outputs]),
    ...graph.initializers.keys(),
    ...graph.inputs.map((i) => i.name),
  ]);
  const b = new GraphBuilder(opset, info, 'gaia', taken);
  const built = buildHeads(graph, b, cls, taps, heads, options.debug ?? false, options.gaiaZMode ?? 'float', options.headSettings);
  const { outputs } = built;
  notes.push(...built.notes);

  // Name each head's tensor as the output it is; a tensor of the model already named like
  // an output keeps its name.
  const renames: Node[] = [];
  const graphOutputs: ValueInfo[] = [];
  for (const [name, { tensor, shape }] of outputs) {
    if (tensor !== name) {
      if (taken.has(name)) {
        throw new GaiaError(ErrorCodes.INVALID_GRAPH, `the model already has a tensor named "${name}", which the compiler needs for an output; rename it in the export`);
      }
      renames.push({ name: `gaia/output/${name}`, opType: 'Identity', domain: '', inputs: [tensor], outputs: [name], attributes: [] });
    }
    graphOutputs.push({ name, elemType: DataType.FLOAT, shape });
  }
  const added = liveNodes(b.nodes, [...renames.flatMap((n) => n.inputs), ...graphOutputs.map((o) => o.name)]);
  const read = new Set([...added, ...renames].flatMap((n) => n.inputs));
  const compiled: Graph = {
    ...graph,
    nodes: [...graph.nodes, ...added, ...renames],
    // Constants a rule made but did not end up reading (onnxruntime warns about each).
    initializers: new Map([...graph.initializers, ...[...b.initializers].filter(([name]) => read.has(name))]),
    outputs: graphOutputs,
    // Intermediate value_info from the exporter stays valid: forward tensors are unchanged.
    valueInfo: [
      ...graph.valueInfo,
      ...[...b.declared].filter(([name]) => read.has(name)).map(([name, shape]) => ({ name, elemType: DataType.FLOAT, shape })),
    ],
  };
  verifyGraph(compiled);
  const opCounts: Record<string, number> = {};
  for (const n of compiled.nodes) opCounts[n.opType] = (opCounts[n.opType] ?? 0) + 1;
  return {
    model: {
      ...model,
      graph: compiled,
      extra: { ...model.extra, metadataProps: withMetadata(model, taps, heads) },
    },
    taps,
    notes,
    heads,
    gaiaZMode: built.gaiaZMode,
    logits: cls.logits,
    numClasses: cls.numClasses,
    opCounts,
  };
}

/**
 * The emitted nodes an output depends on, in order. A rule may emit a tensor that a later
 * one makes unnecessary (pattern mode's full-size ReLU pattern, where only its factors are
 * read); onnxruntime would still compute it.
 */
function liveNodes(nodes: readonly Node[], wanted: Iterable<string>): Node[] {
  const live = new Set(wanted);
  const kept: Node[] = [];
  for (let k = nodes.length - 1; k >= 0; k--) {
    const node = nodes[k]!;
    if (!node.outputs.some((o) => o && live.has(o))) continue;
    kept.push(node);
    for (const i of node.inputs) if (i) live.add(i);
  }
  return kept.reverse();
}

/** Shape inference after a fixed batch was made dynamic: a failure there is the fixed batch's doing. */
function inferWithBatch(graph: Graph, opset: number, batch: DynamicBatch) {
  try {
    return inferShapesForCompile(graph, opset);
  } catch (err) {
    if (!(err instanceof GaiaError) || err.code !== ErrorCodes.SHAPE_INFERENCE) throw err;
    throw new GaiaError(
      ErrorCodes.SHAPE_INFERENCE,
      `the model was exported with a fixed batch of ${batch.exportBatch}, and a node depends on it (${err.message}), ` +
        'so the scoring graph cannot take other batch sizes. Re-export with a dynamic batch: ' +
        'torch.onnx.export(..., dynamic_shapes=({0: torch.export.Dim("batch")},)) or, with dynamo=False, dynamic_axes={"input": {0: "batch"}}',
      { cause: err, ...(err.node ? { node: err.node } : {}) },
    );
  }
}

function withMetadata(model: Model, taps: readonly Tap[], heads: readonly HeadName[]): unknown[] {
  const existing = ((model.extra.metadataProps as Array<{ key: string }> | undefined) ?? []).filter(
    (p) => !p.key.startsWith('gaia.'),
  );
  return [
    ...existing,
    { key: 'gaia.compiler', value: 'gaia-sentinel' },
    { key: 'gaia.heads', value: heads.join(',') },
    { key: 'gaia.taps', value: JSON.stringify(taps.map((t) => t.tensor)) },
  ];
}

