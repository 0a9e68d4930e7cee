/**
 * fDBD (Liu & Qin 2024, "Fast Decision Boundary based Out-of-Distribution Detector"): the
 * mean, over the classes c other than the prediction ŷ, of the feature-space distance to the
 * decision boundary between ŷ and c, |l_ŷ − l_c| / ‖w_ŷ − w_c‖, divided by the distance
 * ‖f − μ‖ of the features to the mean ID training feature μ (higher = more
 * in-distribution). The official code sums instead of averaging (the same ranking). The
 * boundary norms ‖w_p − w_c‖ are constants of the model: a [C, C] table the graph gathers
 * the prediction's row from (its diagonal is 1, where |l_ŷ − l_ŷ| = 0 anyway).
 */
import { attr, type Graph } from '../../onnx/graph.js';
import type { GraphBuilder } from '../builder.js';
import type { ClassifierParts, FeatureParts } from '../classifier.js';
import type { FeatureStats } from '../feature-stats.js';
import { finalLinearLayer } from '../final-layer.js';
import { checkedFeatureWidth, missingStats } from './stats-check.js';

export function fdbdHead(graph: Graph, b: GraphBuilder, cls: ClassifierParts, features: FeatureParts, stats: FeatureStats): string {
  const mean = stats.featureMean ?? (() => { throw missingStats('fdbd', 'the mean'); })();
  const dim = checkedFeatureWidth('fdbd', b, features, stats.dim);
  const { weight, numClasses: c } = finalLinearLayer(graph, b.info, cls.logits, features.penultimate, cls.numClasses);
  const inverseNorms = new Float32Array(c * c);
  for (let p = 0; p < c; p++) {
    for (let q = 0; q < c; q++) {
      let sq = 0;
      for (let d = 0; d < dim; d++) sq += (weight[q * dim + d]! - weight[p * dim + d]!) ** 2;
      // Averaging over the C − 1 other classes folds into the table.
      inverseNorms[p * c + q] = p === q ? 0 : 1 / Math.sqrt(sq) / (c - 1);
    }
  }
  const logits = cls.logits;
  const top = b.reduce('ReduceMax', logits, [1], true);
  const gaps = b.op1('Abs', [b.op1('Sub', [top, logits])]); // [B, C]
  const pred = b.op1('ArgMax', [logits], [attr.int('axis', 1), attr.int('keepdims', 0), attr.int('select_last_index', 0)]);
  const rows = b.op1('Gather', [b.floatTensor('fdbd_inverse_boundary_norms', [c, c], inverseNorms), pred], [attr.int('axis', 0)]);
  const boundary = b.reduce('ReduceSum', b.op1('Mul', [gaps, rows]), [1], false);
  const centred = b.op1('Sub', [features.penultimate, b.floatTensor('fdbd_feature_mean', [dim], mean)]);
  return b.op1('Div', [boundary, b.reduce('ReduceL2', centred, [1], false)], [], 'fdbd');
}
