/**
 * What /healthz and /readyz answer, from the parts the agent has so far. Liveness says
 * whether the process can still do its job without a restart (a dead scorer or a consumer
 * that kafkajs gave up on cannot); readiness whether frames flow right now (the model is
 * loaded, the source connected, no delivery failed). A restarting consumer is live but not
 * ready, and ready again once it rejoins: readiness heals by itself.
 */
import type { SourceHealth } from '../contracts/stream.js';

export type AgentPhase = 'loading' | 'running' | 'stopping' | 'stopped' | 'failed';

export interface AgentHealth {
  readonly live: boolean;
  readonly ready: boolean;
  readonly phase: AgentPhase;
  readonly detail: Readonly<Record<string, unknown>>;
}

export class HealthBoard {
  phase: AgentPhase = 'loading';
  /** Set once: why the agent stopped working (a failed delivery, a dead scorer). */
  failure: string | undefined;
  scorer: { readonly alive: boolean } | undefined;
  source: { health(staleMs: number): SourceHealth } | undefined;
  model: string | undefined;

  constructor(private readonly staleMs: number) {}

  fail(reason: string): void {
    this.failure ??= reason;
  }

  snapshot(): AgentHealth {
    const source = this.source?.health(this.staleMs);
    const scorerAlive = this.scorer?.alive ?? true;
    const live = scorerAlive && (source?.live ?? true) && this.phase !== 'failed';
    const ready = this.phase === 'running' && this.scorer !== undefined && scorerAlive && (source?.ready ?? false) && this.failure === undefined;
    return {
      live,
      ready,
      phase: this.phase,
      detail: {
        phase: this.phase,
        ...(this.model ? { model: this.model } : {}),
        ...(this.scorer ? { scorer: scorerAlive ? 'alive' : 'dead' } : {}),
        ...(source ? { source: { ready: source.ready, ...source.detail } } : {}),
        ...(this.failure ? { failure: this.failure } : {}),
      },
    };
  }
}
