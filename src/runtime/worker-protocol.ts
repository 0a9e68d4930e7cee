/** Messages between WorkerScorer (main thread) and scorer-worker (its thread). */
export type ToWorker =
  | { readonly type: 'score'; readonly id: number; readonly input: ArrayBuffer; readonly size: number }
  | { readonly type: 'close' };

export type FromWorker =
  | { readonly type: 'ready'; readonly heads: string[]; readonly executionProvider: string; readonly fallbacks: string[]; readonly buckets: number[]; readonly warmupMs: number }
  | { readonly type: 'error'; readonly message: string; readonly code: string | undefined }
  | {
      readonly type: 'scored';
      readonly id: number;
      readonly logits: ArrayBuffer;
      readonly scores: Record<string, ArrayBuffer>;
      readonly frameShapes?: Record<string, readonly number[]>;
      /** The batch's input buffer, transferred back for the caller to reuse. */
      readonly input: ArrayBuffer;
    }
  | { readonly type: 'failed'; readonly id: number; readonly message: string; readonly code: string | undefined };
