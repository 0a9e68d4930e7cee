/**
 * The calibration the agent judges with, replaceable while it runs (SIGHUP, or a changed
 * file). A reload reads and checks the whole file first (format, every field the verdicts
 * use, the fingerprint against the loaded model), so a bad or foreign file leaves the
 * running calibration in place; the swap itself is one assignment, which the pipeline reads
 * once per batch. Reloads run one at a time.
 */
import { STATS_HEADS } from '../compile/heads.js';
import type { Judge } from '../detect/verdict-rule.js';
import { ErrorCodes, GaiaError, isGaiaError } from '../errors.js';
import { fileExists } from '../files.js';
import { defaultCalibrationPath, judgeOf, loadCalibration, type CalibrationFile } from './calibration-file.js';
import { calibrationRef } from './calibration-identity.js';
import type { CalibrationRef } from '../contracts/events.js';

export interface LoadedCalibration {
  readonly path: string;
  readonly file: CalibrationFile;
  /** What verdicts are judged with: the file's verdict rule, or model.verdictHead's threshold. */
  readonly judge: Judge;
  /** sha256 of the file's content and its creation time: tells two calibrations of the same model apart. */
  readonly ref: CalibrationRef;
}

export type ReloadOutcome =
  | { readonly kind: 'changed'; readonly previous: LoadedCalibration | undefined; readonly current: LoadedCalibration }
  | { readonly kind: 'unchanged'; readonly current: LoadedCalibration | undefined }
  | { readonly kind: 'failed'; readonly error: GaiaError; readonly current: LoadedCalibration | undefined };

interface Expected {
  readonly model: string;
  readonly fingerprint: string;
  /** The head that judges alone (model.verdictHead); undefined: the file's verdict rule. */
  readonly head: string | undefined;
  /** The heads the scoring graph computes: a calibration whose judge reads others needs a restart. */
  readonly compiledHeads: readonly string[];
  /** Whether the graph has the calibration's feature statistics compiled in (react, mahalanobis). */
  readonly compiledStats: boolean;
}

export class CalibrationSlot {
  private reloading: Promise<ReloadOutcome> = Promise.resolve({ kind: 'unchanged', current: undefined });

  private constructor(
    /** The configured file, else the model's default one. */
    readonly path: string,
    private readonly configured: boolean,
    private readonly expected: Expected,
    private loaded: LoadedCalibration | undefined,
  ) {}

  /** The configured file (which must load), else calibration/<model>.json if it exists. */
  static async open(configuredPath: string, expected: Expected): Promise<CalibrationSlot> {
    const path = configuredPath || defaultCalibrationPath(expected.model);
    const slot = new CalibrationSlot(path, configuredPath !== '', expected, undefined);
    if (configuredPath || (await fileExists(path))) slot.loaded = await slot.read();
    return slot;
  }

  get current(): LoadedCalibration | undefined {
    return this.loaded;
  }

  /** Reads the file again and swaps it in if it is valid, for this model, and different. */
  reload(): Promise<ReloadOutcome> {
    this.reloading = this.reloading.then(() => this.reloadOnce());
    return this.reloading;
  }

  private async reloadOnce(): Promise<ReloadOutcome> {
    const current = this.loaded;
    let next: LoadedCalibration;
    try {
      if (!this.configured && !(await fileExists(this.path))) {
        throw new GaiaError(ErrorCodes.IO, `${this.path} does not exist (any more); write one with gaia-sentinel calibrate, or set calibration.path`);
      }
      next = await this.read();
    } catch (err) {
      const error = isGaiaError(err) ? err : new GaiaError(ErrorCodes.IO, `cannot reload ${this.path}: ${(err as Error).message}`, { cause: err });
      return { kind: 'failed', error, current };
    }
    if (current && next.ref.digest === current.ref.digest) return { kind: 'unchanged', current };
    const missing = next.judge.heads.filter((h) => !this.expected.compiledHeads.includes(h));
    if (missing.length > 0) {
      const error = new GaiaError(
        ErrorCodes.BAD_CONFIG,
        `${this.path} judges with ${missing.join(', ')}, which the running scoring graph does not compute (it has ${this.expected.compiledHeads.join(', ')}); restart the agent to use this calibration`,
      );
      return { kind: 'failed', error, current };
    }
    // Statistics are compiled into the scoring graph: a file with others needs a restart.
    if (this.expected.compiledStats && current && next.file.featureStats?.digest !== current.file.featureStats?.digest) {
      const error = new GaiaError(
        ErrorCodes.FEATURE_STATS,
        `${this.path} holds other feature statistics than the ones compiled into the scoring graph (${this.expected.compiledHeads.filter((h) => (STATS_HEADS as readonly string[]).includes(h)).join(', ')}); restart the agent to use them`,
      );
      return { kind: 'failed', error, current };
    }
    this.loaded = next;
    return { kind: 'changed', previous: current, current: next };
  }

  private async read(): Promise<LoadedCalibration> {
    const { model, fingerprint, head } = this.expected;
    const file = await loadCalibration(this.path, { model, fingerprint, ...(head ? { head } : {}) });
    return { path: this.path, file, judge: judgeOf(this.path, file, head), ref: calibrationRef(file) };
  }
}
