/**
 * Worker-thread side of WorkerScorer: owns one OrtScorer, so that onnxruntime-node's
 * run(), which holds its calling thread for the whole batch, never holds the main event
 * loop (Kafka heartbeats, /metrics). Inputs and outputs cross as transferred buffers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isGaiaError } from '../errors.js';
import { OrtScorer, type OrtScorerOptions } from './ort-scorer.js';
import type { ToWorker, FromWorker } from './worker-protocol.js';

const { model, numClasses, options } = workerData as { model: Uint8Array; numClasses: number; options: OrtScorerOptions };
const port = parentPort!;
const post = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

try {
  const scorer = await OrtScorer.create(model, numClasses, options);
  post({ type: 'ready', heads: [...scorer.heads], executionProvider: scorer.executionProvider, fallbacks: [...scorer.fallbacks], buckets: [...scorer.buckets], warmupMs: scorer.warmupMs });
  port.on('message', async (message: ToWorker) => {
    if (message.type === 'close') {
      await scorer.close();
      port.close();
      return;
    }
    try {
      const out = await scorer.score(new Float32Array(message.input), message.size);
      const scores = Object.fromEntries(Object.entries(out.scores).map(([h, v]) => [h, v.slice().buffer]));
      const logits = out.logits.slice().buffer;
      // The input goes back too: onnxruntime is done with it, and the caller reuses it for a later batch.
      post({ type: 'scored', id: message.id, logits, scores, ...(out.frameShapes ? { frameShapes: out.frameShapes } : {}), input: message.input }, [logits, ...Object.values(scores), message.input]);
    } catch (err) {
      post({ type: 'failed', id: message.id, message: (err as Error).message, code: isGaiaError(err) ? err.code : undefined });
    }
  });
} catch (err) {
  post({ type: 'error', message: (err as Error).message, code: isGaiaError(err) ? err.code : undefined });
}
