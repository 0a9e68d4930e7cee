/** The streams a command writes to, injected so tests can capture them. */
export interface CliIO {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown };
}

/** Exit codes, set only by cli/main.ts. */
export const ExitCode = {
  OK: 0,
  /** The command ran and failed (bad model, I/O error, runtime failure). */
  FAILURE: 1,
  /** The command line or configuration is invalid. */
  USAGE: 2,
  /**
   * A failure that a restart can get past (a broker away past the retry budget, a dead
   * scorer worker): a supervisor restarts with backoff, where on FAILURE or USAGE a human
   * has to change something first. 75 is sysexits' EX_TEMPFAIL.
   */
  TRANSIENT: 75,
} as const;
