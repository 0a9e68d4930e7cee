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
} as const;
