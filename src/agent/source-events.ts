/**
 * What the agent does when the stream or the scorer says something between batches:
 * partitions moving (drift state follows them through the changelog, or ends with a
 * drift-state-reset), refused offset commits, and a scorer worker that died.
 */
import type { AgentParts } from './startup.js';

export function watchSource(p: AgentParts): void {
  const { log, board, metrics, judging, stream, scorer, console: view } = p;
  const { source } = stream;
  // Drift windows live with the partition owner (docs/DEFINITIONS.md#drift-episodes): when a
  // rebalance moves a partition away, its sources' windows and drift series go.
  source.onRevoked(({ partitions }) => {
    const { sources, resets } = judging.forget(partitions, Date.now());
    for (const s of sources) metrics.forgetSource(s);
    if (resets.length > 0) {
      for (const e of resets) {
        metrics.driftEvent(e);
        view.event(e);
      }
      stream.sink.publish({ events: resets, records: [], letters: [] }).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'drift-state-reset events not published'));
    }
    log.info({ partitions, sources: sources.length }, "partitions moved to another consumer; their sources' drift state dropped here");
  });
  // With a changelog: a partition's sources get their windows back before its frames are scored.
  const restore = stream.restore;
  if (restore) {
    source.onAssigned(async (partitions) => {
      if (!judging.drift) return; // no calibration yet: no drift state to restore
      const started = performance.now();
      try {
        const snapshots = await restore(partitions);
        const restored = judging.restore(snapshots.values(), partitions);
        log.info({ partitions, sources: restored, ms: Math.round(performance.now() - started) }, 'drift state restored from the changelog');
      } catch (err) {
        log.warn({ partitions, err: (err as Error).message }, 'drift state not restored: these sources start afresh');
      }
    });
  }
  source.onCommitFailed?.((err) => {
    metrics.commitFailed();
    // A deferred commit is retried with the next one; lag grows until one succeeds.
    log.warn({ err: err.message }, 'the brokers refused an offset commit');
  });
  // A dead scorer stops the source at once: an idle stream would otherwise wait on it forever.
  scorer.onDeath((err) => {
    log.error({ err: err.message }, 'the scorer worker is gone; stopping');
    board.fail(err.message);
    source.stop();
  });
}
