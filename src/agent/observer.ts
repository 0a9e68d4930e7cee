/**
 * The one pipeline observer the agent hands the stream: each report fanned out to the
 * metrics, the console view, the log and the health board, in that order.
 */
import type { Logger } from 'pino';
import type { PipelineObserver } from '../contracts/stream.js';
import type { GaiaError } from '../errors.js';
import type { AgentMetrics } from '../telemetry/metrics.js';
import type { ConsoleView } from './console-view.js';
import type { HealthBoard } from './health.js';

export function agentObserver(metrics: AgentMetrics, view: ConsoleView, log: Logger, board: HealthBoard): PipelineObserver {
  return {
    batch: (size, seconds) => metrics.batch(size, seconds),
    verdict: (r) => {
      metrics.verdict(r);
      view.verdict(r);
    },
    event: (e) => {
      metrics.event(e);
      metrics.driftEvent(e);
      view.event(e);
    },
    deadLetter: (d) => {
      metrics.deadLetter(d);
      log.warn({ source: d.key, frame: d.frameId, reason: d.reason, err: d.message }, 'frame rejected');
    },
    damagedFrame: (m, damage) => {
      metrics.damagedFrame(m, damage);
      // A dead-lettered one is logged as rejected; a scored one is logged here, with its source.
      if (damage.action === 'score') log.warn({ source: m.source, frame: m.frameId, reason: damage.kind, err: damage.detail }, 'damaged frame scored');
    },
    sourcePaused: (paused) => metrics.sourcePaused(paused),
    watchQueue: (read) => metrics.watchQueue(read),
    deliveryFailed: (err, stage) => {
      metrics.deliveryFailed(err, stage);
      board.fail((err as Error).message);
      log.error({ err: (err as Error).message, code: (err as GaiaError).code, retriable: (err as GaiaError).retriable }, 'delivery failed: stopping, nothing after it is committed');
    },
  };
}
