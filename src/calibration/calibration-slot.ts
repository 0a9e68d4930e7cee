/**
 * The calibration the agent judges with, replaceable while it runs (SIGHUP, or a changed
 * file). A reload reads and checks the whole file first (format, every field the verdicts
 * use, the fingerprint against the loaded model), so a bad or foreign file leaves the
 * running calibration in place. A reload that passes is handed to the judging stage, which
 * swaps it in between batches. Reloads run one at a time.
 */
import { isInputHead } from '../contracts/input-stats.js';
import { STATS_HEADS } from '../compile/heads.js';
import { ErrorCodes, GaiaError, isGaiaError } from '../errors.js';
import { fileExists } from '../files.js';
import { defaultCalibrationPath } from './calibration-file.js';
import { bindCalibration, loadCalibrationFor, type CalibrationReading, type LoadedCalibration } from './calibration-load.js';

export type { LoadedCalibration } from './calibration-load.js';

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
  /** Where the calibration is when none is configured (defaultCalibrationPath, resolved by the caller). */
  readonly defaultPath?: string;
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

  /**
   * The configured file (which must load), else calibration/<model>.json if it exists. `first`:
   * the same file as read before compiling (readCalibration), checked here without a second read.
   */
  static async open(configuredPath: string, expected: Expected, first?: CalibrationReading): Promise<CalibrationSlot> {
    const path = configuredPath || expected.defaultPath || defaultCalibrationPath(expected.model);
    const slot = new CalibrationSlot(path, configuredPath !== '', expected, undefined);
    if (first) slot.loaded = bindCalibration(first, slot.expectedModel);
    else if (configuredPath || (await fileExists(path))) slot.loaded = await slot.read();
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
    // Input heads come from decoding, not the graph: a rule that adds them needs no restart.
    const missing = next.judge.heads.filter((h) => !isInputHead(h) && !this.expected.compiledHeads.includes(h));
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

  private get expectedModel(): { model: string; fingerprint: string; head?: string } {
    const { model, fingerprint, head } = this.expected;
    return { model, fingerprint, ...(head ? { head } : {}) };
  }

  private read(): Promise<LoadedCalibration> {
    return loadCalibrationFor(this.path, this.expectedModel);
  }
}
