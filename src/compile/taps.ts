/**
 * Tap selection: the tensors whose gradients GAIA-Z reads.
 *
 * GAIA's official hooks sit on every BatchNorm layer's output, before any activation. An
 * eval-mode export keeps a BatchNormalization node only where it cannot fold it (e.g. a
 * pre-activation BN after a Concat); a BN that followed a Conv is folded into that Conv,
 * whose output is then the very tensor the hook saw. Exporters leave different traces of
 * the fold, and the default selection reads each of them (see `foldEvidence`); where an
 * export carries no trace at all, a structural rule infers the folded Convs and says so.
 */
import { attrInt, consumers, describeNode, producers, type Graph, type Model, type Node, type Shape } from '../onnx/graph.js';
import type { GraphInfo } from '../onnx/shapes.js';
import { ErrorCodes, GaiaError } from '../errors.js';

export interface Tap {
  /** The tapped tensor. */
  readonly tensor: string;
  /** The node producing it. */
  readonly node: string;
  readonly opType: string;
  readonly shape: Shape;
  /**
   * The axis holding the channels (1 for NCHW). A LayerNormalization over the last axis of
   * a channels-last tensor (ConvNeXt) has its channels there; every other axis but the
   * batch counts as a position.
   */
  readonly channelAxis: number;
  /** Why it was chosen ("batchnorm", "folded-bn conv (...)", "name match", ...). */
  readonly reason: string;
}

export interface TapSelection {
  readonly taps: Tap[];
  /** What the selection inferred rather than read from the export, for the compile output. */
  readonly notes: string[];
}

/** What the model says about its exporter, for choosing how to read the fold traces. */
export interface ExportTraces {
  readonly producerName?: string;
}

export const TAP_SPECS = 'bn (default), stages:N, name:REGEX, op:TYPE[,TYPE...]';

/** torch.onnx's TorchScript exporter names the parameters it creates while folding "onnx::Conv_<n>". */
const TORCHSCRIPT_FOLDED_WEIGHT = /^onnx::Conv_\d+$/;
/** The dynamo exporter's optimiser (onnxscript rewriter) records each rule it applied to a node. */
const RULE_NAME_KEY = 'pkg.onnxscript.rewriter.rule_name';
/** ... and the module stack the node came from, innermost last, then the aten op. */
const CLASS_HIERARCHY_KEY = 'pkg.torch.onnx.class_hierarchy';
const CONV_OPS = new Set(['Conv', 'ConvTranspose']);

function metadata(node: Node, key: string): string | undefined {
  const props = node.extra?.metadataProps as Array<{ key?: string; value?: string }> | undefined;
  return props?.find((p) => p.key === key)?.value;
}

/** The innermost torch module class in a dynamo node's class hierarchy ("torch.nn.modules.conv.Conv2d"). */
function innermostModule(node: Node): string | undefined {
  const raw = metadata(node, CLASS_HIERARCHY_KEY);
  if (!raw) return undefined;
  const classes = [...raw.matchAll(/'([^']+)'/g)].map((m) => m[1]!).filter((c) => !c.startsWith('aten.') && !c.startsWith('<'));
  return classes.at(-1);
}

/** tf2onnx and other converters name a fused Conv after the BN it absorbed ("…/FusedBatchNormV3"). */
const BN_NAME = /batch_?norm/i;

/**
 * Why a Conv is known to carry a folded BatchNorm, or undefined:
 * - TorchScript exporter: its weight is a fresh "onnx::Conv_<n>" initializer;
 * - dynamo exporter: the rewriter rule FuseBatchNormIntoConv is recorded on the node, or
 *   the node came out of a BatchNorm module (the fold keeps the BN's provenance);
 * - other converters: the node or its output is named after a BatchNorm, and no
 *   BatchNormalization node reads it (then that node is the tap).
 */
export function foldEvidence(node: Node, graph: Graph, readers?: ReadonlyMap<string, readonly Node[]>): string | undefined {
  if (!CONV_OPS.has(node.opType)) return undefined;
  const weight = node.inputs[1] ?? '';
  if (TORCHSCRIPT_FOLDED_WEIGHT.test(weight) && graph.initializers.has(weight)) return 'folded-bn conv (TorchScript export)';
  if (metadata(node, RULE_NAME_KEY)?.includes('FuseBatchNorm')) return 'folded-bn conv (dynamo export: FuseBatchNormIntoConv)';
  if (/BatchNorm/.test(innermostModule(node) ?? '')) return 'folded-bn conv (dynamo export: BatchNorm module)';
  if (readers && (BN_NAME.test(node.name) || BN_NAME.test(node.outputs[0] ?? ''))) {
    const feedsBn = (readers.get(node.outputs[0]!) ?? []).some((r) => r.opType === 'BatchNormalization');
    if (!feedsBn) return 'folded-bn conv (named after its BatchNorm)';
  }
  return undefined;
}

/** Whether a Conv node carries a BatchNorm folded in by the exporter. */
export function isFoldedBnConv(node: Node, graph: Graph): boolean {
  return foldEvidence(node, graph) !== undefined;
}

/** Tensors computed from the graph's (non-initializer) inputs. */
function computedFromInput(graph: Graph): Set<string> {
  const reached = new Set(graph.inputs.filter((i) => !graph.initializers.has(i.name)).map((i) => i.name));
  for (const node of graph.nodes) {
    if (node.inputs.some((i) => reached.has(i))) for (const o of node.outputs) if (o) reached.add(o);
  }
  return reached;
}

/** Whether the export is of a kind whose fold traces we read: then "no trace" means "no BN". */
function tracesAreReadable(graph: Graph, traces: ExportTraces): boolean {
  if (graph.nodes.some((n) => metadata(n, CLASS_HIERARCHY_KEY) !== undefined)) return true; // dynamo
  return traces.producerName === 'pytorch';
}

function tapOf(node: Node, info: GraphInfo, reason: string, channelAxis = 1): Tap {
  const tensor = node.outputs[0]!;
  return { tensor, node: node.name, opType: node.opType, shape: info.tensors.get(tensor)?.shape ?? [], channelAxis, reason };
}

/** Spatial positions of an NCHW shape (0 where some are dynamic). */
const area = (shape: Shape): number => shape.slice(2).reduce<number>((n, d) => (typeof d === 'number' ? n * d : 0), 1);

/**
 * The structural reading of an export that left no trace: a Conv that carries a bias and
 * produces a feature map (more than one position) is where an eval-mode export folds a
 * BN. Convs on a 1×1 map (squeeze-and-excitation gates) rarely carry one, so they are left out.
 */
function structuralTaps(graph: Graph, info: GraphInfo): Tap[] {
  return graph.nodes
    .filter((n) => n.opType === 'Conv' && (n.inputs[2] ?? '') !== '' && area(info.tensors.get(n.outputs[0]!)?.shape ?? []) > 1)
    .map((n) => tapOf(n, info, 'inferred: biased Conv with a feature-map output (no fold trace in the export)'));
}

/** Default taps: BatchNormalization outputs and BN-folded Conv outputs, in graph order. */
export function batchNormTaps(graph: Graph, info: GraphInfo, traces: ExportTraces = {}): TapSelection {
  const readers = consumers(graph);
  const fromInput = computedFromInput(graph);
  const taps = graph.nodes.flatMap((node) => {
    // A BN of the weights (weight standardisation, NFNet's ScaledStdConv) is no tap: only
    // BNs of feature maps computed from the image are.
    if (!fromInput.has(node.outputs[0]!)) return [];
    if (node.opType === 'BatchNormalization') return [tapOf(node, info, 'batchnorm')];
    const why = foldEvidence(node, graph, readers);
    return why ? [tapOf(node, info, why)] : [];
  });
  if (taps.length > 0 || tracesAreReadable(graph, traces)) return { taps, notes: [] };
  const inferred = structuralTaps(graph, info);
  if (inferred.length === 0) return { taps, notes: [] };
  return {
    taps: inferred,
    notes: [
      `no BatchNormalization node and no record of BatchNorm folding in this export (producer "${traces.producerName ?? 'unknown'}"): ` +
        `inferred ${inferred.length} taps as the biased Convs with feature-map outputs, where an eval-mode export folds BatchNorm. ` +
        'If the model has no BatchNorm, or some of these Convs had none, name the taps with --taps name:REGEX or op:TYPE',
    ],
  };
}

const spatialKey = (t: Tap) => t.shape.filter((_, i) => i > 0 && i !== t.channelAxis).join('x');

/**
 * The taps of the last `n` stages, a stage being the taps sharing one spatial size;
 * sizes are ranked by first appearance in graph order (the definition GAIA-A's inner
 * components and the reference implementation share).
 */
export function lastStages(taps: readonly Tap[], n: number): Tap[] {
  const keep = new Set(stageSizes(taps).slice(-n));
  return taps.filter((t) => keep.has(spatialKey(t)));
}

/** The spatial sizes of the taps' stages, in order of first appearance (see `lastStages`). */
function stageSizes(taps: readonly Tap[]): string[] {
  return [...new Set(taps.map(spatialKey))];
}

/** `stages:N` asks for at most as many stages as the model has (none: `noTaps` says why). */
function checkStageCount(spec: string, n: number, taps: readonly Tap[]): void {
  const sizes = stageSizes(taps);
  if (sizes.length === 0 || n <= sizes.length) return;
  throw new GaiaError(
    ErrorCodes.BAD_TAPS,
    `tap selection "${spec}": the model has ${sizes.length} stage${sizes.length > 1 ? 's' : ''} of bn taps (spatial sizes ${sizes.join(', ')}); ` +
      `choose ${sizes.length > 1 ? `stages:1 to stages:${sizes.length}` : 'stages:1'} (stages:${sizes.length} is every bn tap, as bn)`,
  );
}

/** The channel axis of a tapped node's output: a LayerNormalization's normalised axis, else 1. */
function channelAxisOf(node: Node, shape: Shape): number {
  if (node.opType !== 'LayerNormalization') return 1;
  const axis = attrInt(node, 'axis', -1);
  const normalised = axis < 0 ? axis + shape.length : axis;
  // Normalising over the last axis only: that axis holds the channels (channels-last).
  return normalised === shape.length - 1 && shape.length > 2 ? normalised : 1;
}

function opTaps(graph: Graph, info: GraphInfo, types: string[]): Tap[] {
  return graph.nodes
    .filter((n) => types.includes(n.opType))
    .map((n) => {
      const shape = info.tensors.get(n.outputs[0]!)?.shape ?? [];
      return tapOf(n, info, `op ${n.opType}`, channelAxisOf(n, shape));
    });
}

/**
 * Parses a tap selection:
 * - "bn" (default): every BatchNormalization output and every BN-folded Conv output;
 * - "stages:N": the bn taps of the last N stages;
 * - "name:REGEX": the first output of every node whose name matches REGEX;
 * - "op:TYPE[,TYPE]": the first output of every node of those op types (e.g. LayerNormalization).
 */
export function selectTaps(graph: Graph, info: GraphInfo, spec = 'bn', traces: ExportTraces = {}): TapSelection {
  let selection: TapSelection;
  const [kind, arg] = spec.includes(':') ? [spec.slice(0, spec.indexOf(':')), spec.slice(spec.indexOf(':') + 1)] : [spec, ''];
  if (kind === 'bn') {
    selection = batchNormTaps(graph, info, traces);
  } else if (kind === 'stages') {
    const n = Number(arg);
    if (!Number.isInteger(n) || n < 1) {
      throw new GaiaError(ErrorCodes.BAD_TAPS, `tap selection "${spec}": stages needs a positive integer, e.g. stages:2`);
    }
    const all = batchNormTaps(graph, info, traces);
    checkStageCount(spec, n, all.taps);
    selection = { taps: lastStages(all.taps, n), notes: all.notes };
  } else if (kind === 'name') {
    let re: RegExp;
    try {
      re = new RegExp(arg);
    } catch (cause) {
      throw new GaiaError(ErrorCodes.BAD_TAPS, `tap selection "${spec}": invalid regular expression (${(cause as Error).message})`, { cause });
    }
    selection = { taps: graph.nodes.filter((n) => re.test(n.name)).map((n) => tapOf(n, info, 'name match')), notes: [] };
  } else if (kind === 'op') {
    selection = { taps: opTaps(graph, info, arg.split(',').map((s) => s.trim()).filter(Boolean)), notes: [] };
  } else {
    throw new GaiaError(ErrorCodes.BAD_TAPS, `tap selection "${spec}" is not one of: ${TAP_SPECS}`);
  }
  if (selection.taps.length === 0) throw noTaps(graph, spec);
  const byTensor = producers(graph);
  for (const t of selection.taps) {
    const node = byTensor.get(t.tensor)!;
    if (t.shape.length < 2) {
      throw new GaiaError(ErrorCodes.BAD_TAPS, `tap ${describeNode(node)} has shape [${t.shape.join(',')}]; a tap needs a batch and a channel axis`, { node: node.name });
    }
  }
  return selection;
}

function noTaps(graph: Graph, spec: string): GaiaError {
  if (spec !== 'bn' && !spec.startsWith('stages')) {
    return new GaiaError(
      ErrorCodes.BAD_TAPS,
      `tap selection "${spec}" matched no tensor; name existing layers with --taps name:REGEX (node names) or op:TYPE (op types)`,
    );
  }
  const fromInput = computedFromInput(graph);
  const norms = [...new Set(graph.nodes.filter((n) => fromInput.has(n.outputs[0]!)).map((n) => n.opType).filter((op) => /Normalization$/.test(op)))];
  return new GaiaError(
    ErrorCodes.BAD_TAPS,
    `the model has no BatchNorm: no BatchNormalization node and no Conv with BatchNorm folded in (tap selection "${spec}"). ` +
      "GAIA-Z's official taps are BatchNorm outputs; for this model name the layers to tap with --taps " +
      (norms.length > 0 ? `op:${norms.join(',')} (the model's normalisation layers), ` : '') +
      'op:TYPE (every node of an op type, e.g. op:Conv) or name:REGEX (nodes by name)',
  );
}

/** The exporter traces a model carries (for `selectTaps`). */
export function exportTraces(model: Model): ExportTraces {
  const producerName = model.extra.producerName as string | undefined;
  return producerName ? { producerName } : {};
}
