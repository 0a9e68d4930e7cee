/**
 * KNN (Sun et al. 2022, "Out-of-Distribution Detection with Deep Nearest Neighbors"):
 * −‖z − z_(k)‖ with z = f / (‖f‖ + 1e-10) the normalised penultimate features and z_(k)
 * their k-th nearest neighbour in a bank of normalised ID training features (higher = more
 * in-distribution). In the graph: z × bankᵀ (one MatMul) orders the bank by distance
 * (‖b‖² − 2 z·b, the bank's norms constants), TopK picks the k-th nearest row, and its
 * distance is computed from the difference z − b itself.
 */
import { attr } from '../../onnx/graph.js';
import { ErrorCodes, GaiaError } from '../../errors.js';
import type { GraphBuilder } from '../builder.js';
import type { FeatureParts } from '../classifier.js';
import type { FeatureStats } from '../feature-stats.js';
import { checkedFeatureWidth, missingStats } from './stats-check.js';

/** The official code's normaliser: x / (‖x‖₂ + 1e-10). */
export const KNN_NORM_EPSILON = 1e-10;

export function knnHead(b: GraphBuilder, features: FeatureParts, stats: FeatureStats): string {
  const knn = stats.knn ?? (() => { throw missingStats('knn', 'a bank'); })();
  const dim = checkedFeatureWidth('knn', b, features, stats.dim);
  if (!Number.isInteger(knn.k) || knn.k < 1 || knn.k > knn.rows) {
    throw new GaiaError(ErrorCodes.FEATURE_STATS, `knn: k = ${knn.k} is not a neighbour of a bank of ${knn.rows} features; recalibrate with a --knn-k between 1 and --knn-bank`);
  }
  const f = features.penultimate;
  const norm = b.op1('Add', [b.reduce('ReduceL2', f, [1], true), b.scalar(KNN_NORM_EPSILON)]);
  const z = b.op1('Div', [f, norm], [], 'knn_normalised'); // [B, D]
  const bankT = new Float32Array(dim * knn.rows);
  const bankNorms = new Float32Array(knn.rows);
  for (let r = 0; r < knn.rows; r++) {
    let sq = 0;
    for (let d = 0; d < dim; d++) {
      const v = knn.bank[r * dim + d]!;
      bankT[d * knn.rows + r] = v;
      sq += v * v;
    }
    bankNorms[r] = sq;
  }
  const bank = b.floatTensor('knn_bank_t', [dim, knn.rows], bankT);
  const dots = b.op1('MatMul', [z, bank]); // [B, N]
  // ‖b‖² − 2 z·b orders the rows by distance (‖z‖² is the same for every row): TopK finds the k-th nearest.
  const partial = b.op1('Sub', [b.floatTensor('knn_bank_norms', [knn.rows], bankNorms), b.op1('Mul', [dots, b.scalar(2)])]);
  const [, nearest] = b.op('TopK', [partial, b.ints([knn.k])], [attr.int('axis', 1), attr.int('largest', 0), attr.int('sorted', 1)], 2);
  const kth = b.op1('Reshape', [b.slice(nearest!, [knn.k - 1], [knn.k], [1]), b.ints([-1])]); // [B]
  // Its distance again from the difference itself: ‖z‖² + ‖b‖² − 2 z·b loses digits to cancellation when z is close to b.
  const neighbour = b.op1('Transpose', [b.op1('Gather', [bank, kth], [attr.int('axis', 1)])], [attr.ints('perm', [1, 0])]); // [B, D]
  const squared = b.reduce('ReduceSumSquare', b.op1('Sub', [z, neighbour]), [1], false);
  return b.op1('Neg', [b.op1('Sqrt', [squared])], [], 'knn');
}
