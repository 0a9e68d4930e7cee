/**
 * What the agent prints on stdout (logs go to stderr): drift events as they happen, every
 * verdict with --verbose, and at the end a summary — per folder with AUROC for a finite
 * replay, counts for a Kafka agent (which keeps no per-frame history).
 */
import { auroc } from '../detect/metrics.js';
import type { PipelineObserver } from '../contracts/stream.js';
import type { AlertEvent, VerdictRecord } from '../contracts/events.js';
import type { PipelineStats } from '../stream/pipeline.js';

export interface ConsoleOptions {
  readonly out: { write(chunk: string): unknown };
  readonly verbose: boolean;
  /** Keep every verdict for the end-of-run summary (a finite replay only). */
  readonly keepRecords: boolean;
  judged: boolean;
}

export class ConsoleView implements PipelineObserver {
  private readonly records: VerdictRecord[] = [];
  private readonly t0 = Date.now();

  constructor(private readonly o: ConsoleOptions) {}

  verdict(r: VerdictRecord): void {
    if (this.o.keepRecords) this.records.push(r);
    if (this.o.verbose) {
      this.o.out.write(
        `${r.frameId.padEnd(34)} ${r.predictedClass.padEnd(12)} ${r.confidence.toFixed(2).padStart(5)} ${r.score.toFixed(4).padStart(8)}  ${this.o.judged ? (r.flagged ? 'OOD' : 'ok') : '-'}\n`,
      );
    }
  }

  event(e: AlertEvent): void {
    // Per-frame events are the OOD column of --verbose: one line each would bury the episodes.
    if (e.type === 'frame-ood') return;
    if (e.type === 'calibration-changed') {
      this.o.out.write(`[+${((e.ts - this.t0) / 1000).toFixed(2)}s] ${e.type} ${e.model}: calibration ${e.current.digest.slice(0, 12)} (created ${e.current.createdAt})\n`);
      return;
    }
    if (e.type === 'drift-silent') {
      this.o.out.write(`[+${((e.ts - this.t0) / 1000).toFixed(2)}s] ${e.type} ${e.source}: no frame for ${(e.silenceMs / 1000).toFixed(0)} s; the episode ends unresolved (${e.flagged}/${e.window} frames flagged when it went quiet)\n`);
      return;
    }
    if (e.type === 'frozen-frame' || e.type === 'broken-frames') {
      const what = e.type === 'frozen-frame' ? `${e.count} frames the same picture` : `${e.count}/${e.window} frames broken (critical ${e.criticalCount})`;
      this.o.out.write(`[+${((e.ts - this.t0) / 1000).toFixed(2)}s] ${e.type} ${e.state} ${e.source}: ${what}\n`);
      return;
    }
    if (e.type === 'drift-state-reset') {
      this.o.out.write(`[+${((e.ts - this.t0) / 1000).toFixed(2)}s] ${e.type} ${e.source}: ${e.reason}\n`);
      return;
    }
    this.o.out.write(
      `[+${((e.ts - this.t0) / 1000).toFixed(2)}s] ${e.type} ${e.source}: ${e.flagged}/${e.window} frames flagged (${(100 * e.rate).toFixed(1)}% vs p0 ${(100 * e.p0).toFixed(1)}%, p = ${e.pValue.toExponential(1)})${e.statistic === 'p-value-cusum' ? `, by the p-value CUSUM (${e.cusum!.toFixed(1)} ≥ ${e.cusumThreshold!.toFixed(1)})` : ''}\n`,
    );
  }

  /** A calibration was loaded while running: verdicts are judged from now on. */
  judging(): void {
    this.o.judged = true;
  }

  line(text: string): void {
    this.o.out.write(`${text}\n`);
  }

  summary(stats: PipelineStats): void {
    this.o.out.write(
      this.o.keepRecords
        ? replaySummary(this.records, stats.deadLetters, this.o.judged)
        : `\n${stats.scored} frames scored (${stats.flagged} flagged OOD), ${stats.deadLetters} dead-lettered\n`,
    );
  }
}

/** A verdict's GAIA-Z raw score: its score when GAIA-Z judged, else among the rule's heads' scores. */
const gaiaZ = (r: VerdictRecord): number | undefined => (r.head === 'gaia_z' ? r.score : r.scores?.gaia_z);

function replaySummary(records: VerdictRecord[], rejected: number, judged: boolean): string {
  const byFolder = new Map<string, VerdictRecord[]>();
  for (const r of records) {
    const folder = r.frameId.split('/')[0]!;
    byFolder.set(folder, [...(byFolder.get(folder) ?? []), r]);
  }
  const lines = ['', `${records.length} frames scored, ${rejected} rejected`];
  for (const [folder, rs] of byFolder) {
    const z = rs.map(gaiaZ).filter((v): v is number => v !== undefined).sort((a, b) => a - b);
    const flagged = judged ? `, ${rs.filter((r) => r.flagged).length} flagged OOD` : '';
    const median = z.length > 0 ? `, GAIA-Z median ${z[Math.floor(z.length / 2)]!.toFixed(4)}` : '';
    lines.push(`  ${folder}: ${rs.length} frames${flagged}${median}, mean MSP ${(rs.reduce((a, r) => a + r.confidence, 0) / rs.length).toFixed(3)}`);
  }
  const id = byFolder.get('id');
  const ood = byFolder.get('ood');
  if (id && ood) {
    // ID-scores: higher = more in-distribution (GAIA-Z raw is negated; the verdict rule's statistic already is one).
    const parts: string[] = [];
    if (id[0]!.head === 'verdict') parts.push(`verdict ${auroc(id.map((r) => r.score), ood.map((r) => r.score)).toFixed(3)}`);
    const zId = id.map(gaiaZ);
    const zOod = ood.map(gaiaZ);
    if (zId.every((v) => v !== undefined) && zOod.every((v) => v !== undefined)) parts.push(`GAIA-Z ${auroc(zId.map((v) => -v!), zOod.map((v) => -v!)).toFixed(3)}`);
    parts.push(`MSP ${auroc(id.map((r) => r.confidence), ood.map((r) => r.confidence)).toFixed(3)}`);
    lines.push(`  AUROC id vs ood: ${parts.join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}
