/** Opens what calibrate and eval share: the model package, its scorer, the preprocessing and the fingerprint. */
import type { GaiaZMode, HeadName, HeadSettings } from '../compile/heads.js';
import type { Config } from '../config/load.js';
import { ErrorCodes, isGaiaError } from '../errors.js';
import { loadModelPackage, type ModelPackage } from '../model/manifest.js';
import { Preprocessor } from '../frames/preprocess.js';
import { loadScorer } from '../model/open-model.js';
import type { WorkerScorer } from '../runtime/worker-scorer.js';
import { fingerprintOf } from '../model/fingerprint.js';

export interface OfflineSession {
  readonly pkg: ModelPackage;
  readonly scorer: WorkerScorer;
  readonly pre: Preprocessor;
  readonly fingerprint: string;
  /** Optional heads this model cannot have, left out, each with why (say so to the user). */
  readonly omitted: ReadonlyArray<{ readonly head: HeadName; readonly why: string }>;
  /** What the compiler noted about this model (a fallback to the float backward, an uninformative GAIA-Z). */
  readonly notes: readonly string[];
}

export const OFFLINE_HEADS: readonly HeadName[] = ['logits', 'gaia_z', 'gaia_a', 'msp', 'energy'];

/** Which heads to compile (default OFFLINE_HEADS) and what some of them need. */
export interface SessionHeads {
  readonly heads?: readonly HeadName[];
  readonly headSettings?: HeadSettings;
  /**
   * Heads among `heads` that are left out, not fatal, when the model cannot have them (the
   * defaults, not what the user asked for): GAIA-A on a classifier without a pooled linear
   * head, such as MobileNetV3.
   */
  readonly optional?: readonly HeadName[];
}

export async function openOfflineSession(config: Readonly<Config>, want: SessionHeads = {}): Promise<OfflineSession> {
  const pkg = await loadModelPackage(config.model.dir);
  const open = (heads: readonly HeadName[]) =>
    loadScorer(pkg, {
      executionProviders: config.runtime.executionProviders,
      requireGpu: config.runtime.requireGpu,
      intraOpThreads: config.runtime.intraOpThreads,
      taps: config.model.taps,
      heads,
      ...(want.headSettings ? { headSettings: want.headSettings } : {}),
      // convict has checked it against the schema's list.
      gaiaZMode: config.model.gaiaZMode as GaiaZMode,
    });
  const heads = want.heads ?? OFFLINE_HEADS;
  const optional = (want.optional ?? []).filter((h) => heads.includes(h));
  const omitted: Array<{ head: HeadName; why: string }> = [];
  let loaded;
  try {
    loaded = await open(heads);
  } catch (err) {
    if (!(isGaiaError(err) && err.code === ErrorCodes.BAD_HEAD && optional.length > 0)) throw err;
    for (const head of optional) omitted.push({ head, why: err.message });
    loaded = await open(heads.filter((h) => !optional.includes(h)));
  }
  const { scorer, model, compiled } = loaded;
  return {
    pkg,
    scorer,
    pre: new Preprocessor(pkg.manifest, config.frames),
    fingerprint: fingerprintOf(model, compiled.taps, pkg.manifest),
    omitted,
    notes: compiled.notes,
  };
}

/** The lines calibrate and eval print before scoring: heads left out, then the compiler's notes. */
export function sessionNotes(session: Pick<OfflineSession, 'omitted' | 'notes'>): string[] {
  return [...session.omitted.map((o) => `note: ${o.head} left out: ${o.why}`), ...session.notes.map((n) => `note: ${n}`)];
}
