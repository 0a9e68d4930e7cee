/**
 * The calibration the agent judges with, replaceable while it runs (SIGHUP, or a changed
 * file). A reload reads and checks the whole file first (format, every field the verdicts
 * use, the fingerprint against the loaded model), so a bad or foreign file leaves the
 * running calibration in place; the swap itself is one assignment, which the pipeline reads
 * once per batch. Reloads run one at a time.
 */
import type { HeadCalibration } from '../detect/calibration.js';
import { ErrorCodes, GaiaError, isGaiaError } from '../errors.js';
import { fileExists } from '../files.js';
import { defaultCalibrationPath, loadCalibration, type CalibrationFile } from '../offline/calibration-file.js';
import { calibrationRef } from '../offline/calibration-identity.js';
import type { CalibrationRef } from '../stream/events.js';

export interface LoadedCalibration {
  readonly path: string;
  readonly file: CalibrationFile;
  /** The primary head's calibration: what verdicts are judged with. */
  readonly threshold: HeadCalibration;
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
  /** The head verdicts use (model.verdictHead). */
  readonly head: string;
  /** Whether that head's graph has the calibration's feature statistics compiled in (react, mahalanobis). */
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
    // Statistics are compiled into the scoring graph: a file with others needs a restart.
    if (this.expected.compiledStats && current && next.file.featureStats?.digest !== current.file.featureStats?.digest) {
      const error = new GaiaError(
        ErrorCodes.FEATURE_STATS,
        `${this.path} holds other feature statistics than the ones compiled into the "${this.expected.head}" head; restart the agent to use them`,
      );
      return { kind: 'failed', error, current };
    }
    this.loaded = next;
    return { kind: 'changed', previous: current, current: next };
  }

  private async read(): Promise<LoadedCalibration> {
    const file = await loadCalibration(this.path, this.expected);
    return { path: this.path, file, threshold: file.heads[this.expected.head]!, ref: calibrationRef(file) };
  }
}
