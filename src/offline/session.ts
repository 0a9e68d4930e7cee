/** Opens what calibrate and eval share: the model package, its scorer, the preprocessing and the fingerprint. */
import type { GaiaZMode, HeadName, HeadSettings } from '../compile/heads.js';
import type { Config } from '../config/load.js';
import { Preprocessor } from '../frames/preprocess.js';
import { loadModelPackage, type ModelPackage } from '../model/manifest.js';
import { openModel } from '../model/open-model.js';
import type { WorkerScorer } from '../runtime/worker-scorer.js';

export interface OfflineSession {
  readonly pkg: ModelPackage;
  readonly scorer: WorkerScorer;
  readonly pre: Preprocessor;
  readonly fingerprint: string;
  /** The taps the compile resolved (with their shapes when compiled now, not reused from a package record). */
  readonly taps: ReadonlyArray<{ readonly tensor: string }>;
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
  /** Heads among `heads` left out, with a note, when the model cannot have them (see OpenModelOptions). */
  readonly optional?: readonly HeadName[];
}

/** `pkg`: the package when the caller has loaded it already (eval reads its name first). */
export async function openOfflineSession(config: Readonly<Config>, want: SessionHeads = {}, pkg?: ModelPackage): Promise<OfflineSession> {
  // (The package's compiled graph is reused when it was compiled for these heads; calibrate and eval never write it.)
  const opened = await openModel(pkg ?? (await loadModelPackage(config.model.dir)), {
    executionProviders: config.runtime.executionProviders,
    requireGpu: config.runtime.requireGpu,
    intraOpThreads: config.runtime.intraOpThreads,
    spinWait: config.runtime.spinWait,
    taps: config.model.taps,
    heads: want.heads ?? OFFLINE_HEADS,
    ...(want.headSettings ? { headSettings: want.headSettings } : {}),
    ...(want.optional ? { optional: want.optional } : {}),
    // convict has checked it against the schema's list.
    gaiaZMode: config.model.gaiaZMode as GaiaZMode,
  });
  return {
    pkg: opened.pkg,
    scorer: opened.scorer,
    pre: new Preprocessor(opened.pkg.manifest, config.frames),
    fingerprint: opened.fingerprint,
    taps: opened.compiled.taps,
    omitted: opened.omitted,
    notes: [...(opened.graph.why ? [`compiled the scoring graph again: ${opened.graph.why}`] : []), ...opened.compiled.notes],
  };
}

/** The lines calibrate and eval print before scoring: heads left out, then the compiler's notes. */
export function sessionNotes(session: Pick<OfflineSession, 'omitted' | 'notes'>): string[] {
  return [...session.omitted.map((o) => `note: ${o.head} left out: ${o.why}`), ...session.notes.map((n) => `note: ${n}`)];
}
