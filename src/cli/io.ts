/**
 * What every command shares with cli/main.ts: the streams it writes to, the exit codes,
 * and which failures are usage errors (docs/ERRORS.md says the same).
 */
import { ErrorCodes, GaiaError, type ErrorCode } from '../errors.js';

/** The streams a command writes to, injected so tests can capture them. */
export interface CliIO {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown };
}

/** Exit codes, set only by cli/main.ts. */
export const ExitCode = {
  OK: 0,
  /** The command ran and failed (bad model, bad data, I/O error, a refusal that repeats). */
  FAILURE: 1,
  /**
   * The command line or configuration is invalid: an unknown option, a missing or bad flag
   * value, a config key, a tap selection or head list the model cannot have (USAGE_CODES).
   */
  USAGE: 2,
  /**
   * A failure that a restart can get past (a broker away past the retry budget, a dead
   * scorer worker, a shutdown that missed its deadline): a supervisor restarts with backoff,
   * where on FAILURE or USAGE a human has to change something first. 75 is sysexits' EX_TEMPFAIL.
   */
  TRANSIENT: 75,
} as const;

/**
 * The error codes whose fix is a change to the command line or the configuration: a flag,
 * a config key or env var (GAIA_BAD_CONFIG), the tap selection (`--taps`, model.taps), the
 * heads (`--heads`, `--methods`). They exit USAGE in every command.
 */
export const USAGE_CODES: readonly ErrorCode[] = [ErrorCodes.BAD_CONFIG, ErrorCodes.BAD_TAPS, ErrorCodes.BAD_HEAD];

/**
 * A usage error (GAIA_BAD_CONFIG) that carries the command's usage text apart from the
 * message: cli/main.ts prints the usage after the error line, and leaves it out under --json.
 */
export class UsageError extends GaiaError {
  readonly usage: string | undefined;

  constructor(message: string, usage?: string) {
    super(ErrorCodes.BAD_CONFIG, message);
    this.usage = usage;
  }
}

/** The exit code of a GaiaError: USAGE, TRANSIENT (retriable) or FAILURE. */
export function exitCodeOf(err: GaiaError): number {
  if (USAGE_CODES.includes(err.code)) return ExitCode.USAGE;
  return err.retriable ? ExitCode.TRANSIENT : ExitCode.FAILURE;
}
