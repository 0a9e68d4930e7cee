/**
 * What the agent does on a clock rather than on frames: sources that went quiet give back
 * their windows and metric series (bounded memory; with a changelog, a tombstone each), and
 * an open episode whose source sent nothing for drift.silenceMs ends with a drift-silent
 * event, so a camera that stops while drifting does not keep its page open forever.
 */
import type { AgentParts } from './startup.js';

/** Starts the sweeps; returns how to stop them. */
export function startSweeps(p: AgentParts): () => void {
  const { config, metrics, judging, stream, log, console: view } = p;
  const { idleForgetMs, silenceMs } = config.drift;
  const every = Math.max(250, Math.min(60_000, idleForgetMs > 0 ? idleForgetMs : Infinity, silenceMs > 0 ? silenceMs / 4 : Infinity));
  if (!Number.isFinite(every)) return () => {};
  const sweep = () => {
    const silent = silenceMs > 0 ? judging.endSilent(silenceMs, Date.now()) : { events: [], states: [] };
    const idle = idleForgetMs > 0 ? judging.forgetIdle() : { sources: [], states: [] };
    for (const s of idle.sources) metrics.forgetSource(s);
    for (const e of silent.events) {
      metrics.driftEvent(e);
      view.event(e);
      log.info({ source: e.source, startedAt: e.startedAt, lastFrameAt: e.lastFrameAt, silenceMs }, 'drift episode ended: its source sent no frame');
    }
    const states = [...silent.states, ...idle.states];
    if (silent.events.length === 0 && states.length === 0) return;
    // Not tied to any frame: published beside the batches, at least once (their ids deduplicate).
    stream.sink.publish({ events: silent.events, records: [], letters: [], states }).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'drift-silent events or changelog tombstones not published'));
  };
  const timer = setInterval(sweep, every).unref();
  return () => clearInterval(timer);
}
