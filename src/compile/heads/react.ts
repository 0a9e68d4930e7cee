/**
 * ReAct (Sun et al. 2021): clip the penultimate activations at τ (the 90th percentile of ID
 * training activations), then Energy = logsumexp of the logits the clipped features give
 * (higher = more in-distribution). The classifier's tail is replayed on the clipped features.
 */
import type { Graph } from '../../onnx/graph.js';
import type { GraphBuilder } from '../builder.js';
import type { ClassifierParts, FeatureParts } from '../classifier.js';
import { replayForward } from '../replay.js';

export function reactHead(graph: Graph, b: GraphBuilder, cls: ClassifierParts, features: FeatureParts, threshold: number): string {
  // torch's x.clip(max=τ): Min keeps NaN handling and gradients out of the picture.
  const clipped = b.op1('Min', [features.penultimate, b.scalar(threshold)], [], 'react_clipped');
  const logits = replayForward(graph, b, new Map([[features.penultimate, clipped]]), cls.logits);
  return b.reduce('ReduceLogSumExp', logits, [1], false);
}
