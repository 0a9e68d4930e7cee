/** Opens what calibrate and eval share: the model package, its scorer, the preprocessing and the fingerprint. */
import type { GaiaZMode, HeadName, HeadSettings } from '../compile/heads.js';
import type { Config } from '../config/load.js';
import { loadModelPackage, type ModelPackage } from '../frames/manifest.js';
import { Preprocessor } from '../frames/preprocess.js';
import { loadScorer } from '../runtime/load-scorer.js';
import type { WorkerScorer } from '../runtime/worker-scorer.js';
import { modelFingerprint } from './fingerprint.js';

export interface OfflineSession {
  readonly pkg: ModelPackage;
  readonly scorer: WorkerScorer;
  readonly pre: Preprocessor;
  readonly fingerprint: string;
}

export const OFFLINE_HEADS: readonly HeadName[] = ['logits', 'gaia_z', 'gaia_a', 'msp', 'energy'];

/** Which heads to compile (default OFFLINE_HEADS) and what some of them need. */
export interface SessionHeads {
  readonly heads?: readonly HeadName[];
  readonly headSettings?: HeadSettings;
}

export async function openOfflineSession(config: Readonly<Config>, want: SessionHeads = {}): Promise<OfflineSession> {
  const pkg = await loadModelPackage(config.model.dir);
  const { scorer, model } = await loadScorer(pkg, {
    executionProviders: config.runtime.executionProviders,
    requireGpu: config.runtime.requireGpu,
    intraOpThreads: config.runtime.intraOpThreads,
    taps: config.model.taps,
    heads: want.heads ?? OFFLINE_HEADS,
    ...(want.headSettings ? { headSettings: want.headSettings } : {}),
    // convict has checked it against the schema's list.
    gaiaZMode: config.model.gaiaZMode as GaiaZMode,
  });
  return {
    pkg,
    scorer,
    pre: new Preprocessor(pkg.manifest, config.frames),
    fingerprint: modelFingerprint(model, config.model.taps, pkg.manifest),
  };
}
