/**
 * Tap selection: the tensors whose gradients GAIA-Z reads.
 *
 * GAIA's official hooks sit on every BatchNorm layer's output. An eval-mode export keeps
 * a BatchNormalization node only where it cannot be folded (e.g. pre-activation BN after
 * a Concat); a BN that followed a Conv is folded into that Conv, whose output is then the
 * same tensor the hook saw. torch.onnx.export names the parameters it creates while
 * folding "onnx::Conv_<n>" instead of "<module>.weight", which is how a folded Conv is
 * recognised. Other exporters: pass the taps explicitly (name:REGEX).
 */
import { describeNode, producers, type Graph, type Node, type Shape } from '../onnx/graph.js';
import type { GraphInfo } from '../onnx/shapes.js';
import { ErrorCodes, GaiaError } from '../errors.js';

export interface Tap {
  /** The tapped tensor. */
  readonly tensor: string;
  /** The node producing it. */
  readonly node: string;
  readonly opType: string;
  readonly shape: Shape;
  /** Why it was chosen ("batchnorm", "folded-bn conv", "name match"). */
  readonly reason: string;
}

const FOLDED_WEIGHT = /^onnx::Conv_\d+$/;

/** Whether a Conv node carries a BatchNorm folded in by torch.onnx.export. */
export function isFoldedBnConv(node: Node, graph: Graph): boolean {
  return node.opType === 'Conv' && FOLDED_WEIGHT.test(node.inputs[1] ?? '') && graph.initializers.has(node.inputs[1]!);
}

function tapOf(node: Node, info: GraphInfo, reason: string): Tap {
  const tensor = node.outputs[0]!;
  return { tensor, node: node.name, opType: node.opType, shape: info.tensors.get(tensor)?.shape ?? [], reason };
}

/** Default taps: BatchNormalization outputs and BN-folded Conv outputs, in graph order. */
export function batchNormTaps(graph: Graph, info: GraphInfo): Tap[] {
  return graph.nodes.flatMap((node) =>
    node.opType === 'BatchNormalization'
      ? [tapOf(node, info, 'batchnorm')]
      : isFoldedBnConv(node, graph)
        ? [tapOf(node, info, 'folded-bn conv')]
        : [],
  );
}

const spatialKey = (shape: Shape) => shape.slice(2).join('x');

/**
 * The taps of the last `n` stages, a stage being the taps sharing one spatial size;
 * sizes are ranked by first appearance in graph order (the definition GAIA-A's inner
 * components and the reference implementation share).
 */
export function lastStages(taps: readonly Tap[], n: number): Tap[] {
  const sizes: string[] = [];
  for (const t of taps) if (!sizes.includes(spatialKey(t.shape))) sizes.push(spatialKey(t.shape));
  const keep = new Set(sizes.slice(-n));
  return taps.filter((t) => keep.has(spatialKey(t.shape)));
}

/**
 * Parses a tap selection:
 * - "bn" (default): every BatchNormalization output and every BN-folded Conv output;
 * - "stages:N": the bn taps of the last N stages;
 * - "name:REGEX": the first output of every node whose name matches REGEX.
 */
export function selectTaps(graph: Graph, info: GraphInfo, spec = 'bn'): Tap[] {
  let taps: Tap[];
  const [kind, arg] = spec.includes(':') ? [spec.slice(0, spec.indexOf(':')), spec.slice(spec.indexOf(':') + 1)] : [spec, ''];
  if (kind === 'bn') {
    taps = batchNormTaps(graph, info);
  } else if (kind === 'stages') {
    const n = Number(arg);
    if (!Number.isInteger(n) || n < 1) {
      throw new GaiaError(ErrorCodes.BAD_TAPS, `tap selection "${spec}": stages needs a positive integer, e.g. stages:2`);
    }
    taps = lastStages(batchNormTaps(graph, info), n);
  } else if (kind === 'name') {
    let re: RegExp;
    try {
      re = new RegExp(arg);
    } catch (cause) {
      throw new GaiaError(ErrorCodes.BAD_TAPS, `tap selection "${spec}": invalid regular expression (${(cause as Error).message})`, { cause });
    }
    taps = graph.nodes.filter((n) => re.test(n.name)).map((n) => tapOf(n, info, 'name match'));
  } else {
    throw new GaiaError(ErrorCodes.BAD_TAPS, `tap selection "${spec}" is not one of: bn, stages:N, name:REGEX`);
  }
  if (taps.length === 0) {
    throw new GaiaError(
      ErrorCodes.BAD_TAPS,
      `tap selection "${spec}" matched no tensor. The default (bn) needs BatchNormalization nodes or Convs with BN folded in by ` +
        'torch.onnx.export; for other models name the layers with --taps name:REGEX',
    );
  }
  const byTensor = producers(graph);
  for (const t of taps) {
    const node = byTensor.get(t.tensor)!;
    if (t.shape.length < 2) {
      throw new GaiaError(ErrorCodes.BAD_TAPS, `tap ${describeNode(node)} has shape [${t.shape.join(',')}]; a tap needs a batch and a channel axis`, { node: node.name });
    }
  }
  return taps;
}
