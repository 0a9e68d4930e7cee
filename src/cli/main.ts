/**
 * The command-line entry: dispatches to one file per command and is the only place that
 * turns errors into exit codes. The conventions every command shares live here, so that
 * no command can differ: `help <command>` and `<command> --help`, the `--model` path check,
 * `all` in `--heads`, and how a failure is printed (one line, or one JSON line under --json).
 */
import { isGaiaError, ErrorCodes } from '../errors.js';
import { compileCommand, compileUsage } from './compile.js';
import { initCommand, initUsage } from './init.js';
import { checkModelFlag } from './flags.js';
import { ExitCode, exitCodeOf, UsageError, type CliIO } from './io.js';
import { runCommand, runUsage } from './run.js';
import { calibrateCommand, calibrateUsage } from './calibrate.js';
import { evalCommand, evalUsage } from './eval.js';
import { produceCommand, produceUsage } from './produce.js';
import { benchCommand, benchUsage } from './bench.js';
import { snapshotCommand, snapshotUsage } from './snapshot.js';
import { buildInfo } from '../version.js';

type Command = (argv: string[], io: CliIO) => Promise<void>;

const COMMANDS: Record<string, { run: Command; usage: string; summary: string }> = {
  run: { run: runCommand, usage: runUsage, summary: 'score a stream of frames with GAIA-Z (default: replay of bundled samples)' },
  init: { run: initCommand, usage: initUsage, summary: 'make a model package from your ONNX classifier, its labels and its preprocessing' },
  compile: { run: compileCommand, usage: compileUsage, summary: 'compile a classifier into a GAIA scoring graph' },
  calibrate: { run: calibrateCommand, usage: calibrateUsage, summary: 'threshold at 95% TPR on in-distribution frames' },
  eval: { run: evalCommand, usage: evalUsage, summary: 'FPR95 / AUROC of GAIA-Z, GAIA-A, MSP, Energy (--methods all: every method) on ID vs OOD sets' },
  produce: { run: produceCommand, usage: produceUsage, summary: 'send image files to the frames topic as cameras would (smoke and load tests)' },
  bench: { run: benchCommand, usage: benchUsage, summary: 'ms/image of each method at batch 1 and 128 (the GAIA paper\'s Table 1)' },
  'dashboard-snapshot': { run: snapshotCommand, usage: snapshotUsage, summary: "render the Grafana dashboard's queries to a static HTML page" },
};

const usage = () =>
  `Usage: gaia-sentinel <command> [options]\n\nCommands:\n${Object.entries(COMMANDS)
    .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
    .join('\n')}\n\n` +
  'Run gaia-sentinel help <command> (or <command> --help) for its options; gaia-sentinel --version [--json] for the build.\n' +
  'Every command takes --json. Exit codes: 0 done, 1 failed, 2 usage or configuration, 75 transient (docs/ERRORS.md).\n';

/** The version line (what bug reports need: ours, the scoring semantics, ORT and Node), or one JSON object. */
function versionText(json: boolean): string {
  const b = buildInfo();
  if (json) return `${JSON.stringify(b)}\n`;
  return `gaia-sentinel ${b.version}\nscoring semantics ${b.scoringSemantics}, onnxruntime-node ${b.onnxruntime}, node ${b.node}\n`;
}

const HELP_FLAGS = ['--help', '-h'];

/** `help [command]`: that command's usage, or the list of commands; an unknown name is a usage error. */
function help(name: string | undefined, io: CliIO): number {
  if (name === undefined) {
    io.stdout.write(usage());
    return ExitCode.OK;
  }
  const command = COMMANDS[name];
  if (!command) return unknownCommand(name, io);
  io.stdout.write(command.usage);
  return ExitCode.OK;
}

function unknownCommand(name: string, io: CliIO): number {
  io.stderr.write(`gaia-sentinel: unknown command "${name}"\n\n${usage()}`);
  return ExitCode.USAGE;
}

/** The options before a `--` (what follows it is data, never a flag). */
const options = (argv: readonly string[]) => (argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv);

export async function run(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    io.stdout.write(versionText(rest.includes('--json')));
    return ExitCode.OK;
  }
  if (!name) {
    io.stdout.write(usage());
    return ExitCode.USAGE;
  }
  if (name === 'help' || HELP_FLAGS.includes(name)) return help(rest[0], io);
  const command = COMMANDS[name];
  if (!command) return unknownCommand(name, io);
  if (options(rest).some((a) => HELP_FLAGS.includes(a))) return help(name, io);
  try {
    await checkModelFlag(name, rest);
    await command.run(rest, io);
    return ExitCode.OK;
  } catch (err) {
    return report(name, command.usage, err, io, options(rest).includes('--json'));
  }
}

/** A failure as it is printed: the documented code where there is one, the message, the exit code. */
interface Failure {
  readonly code: string | null;
  readonly message: string;
  readonly retriable: boolean;
  readonly exit: number;
  /** The command's usage, printed after the error line (never under --json). */
  readonly usage?: string;
  /** A bug, not an expected failure: the stack goes along, for the report. */
  readonly stack?: string;
}

/** "needs --x\n\nUsage: ..." (a message with the usage inside, as compile and calibrate still throw) → both parts. */
function splitUsage(message: string): { message: string; usage?: string } {
  const at = message.indexOf('\n\nUsage: ');
  return at < 0 ? { message } : { message: message.slice(0, at), usage: message.slice(at + 2) };
}

/**
 * What a thrown value means. Anything may arrive here: kafkajs errors carry numeric codes, a
 * thrown string has no properties at all, so nothing is assumed beyond what is checked.
 */
function failureOf(err: unknown, commandUsage: string): Failure {
  if (isGaiaError(err)) {
    const split = splitUsage(err.message);
    const usage = err instanceof UsageError ? err.usage : split.usage;
    return { code: err.code, message: split.message, retriable: err.retriable, exit: exitCodeOf(err), ...(usage ? { usage } : {}) };
  }
  const e = err as { code?: unknown; syscall?: unknown; message?: unknown } | null | undefined;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof e?.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS')) {
    return { code: ErrorCodes.BAD_CONFIG, message, retriable: false, exit: ExitCode.USAGE, usage: commandUsage };
  }
  // A system call that failed (a file, a socket) is expected, not a bug: its message says which.
  if (typeof e?.code === 'string' && typeof e.syscall === 'string') return { code: e.code, message, retriable: false, exit: ExitCode.FAILURE };
  const code = e?.code === undefined || e?.code === null ? null : String(e.code);
  return { code, message, retriable: false, exit: ExitCode.FAILURE, stack: err instanceof Error ? (err.stack ?? message) : message };
}

function textLine(name: string, f: Failure): string {
  if (f.stack !== undefined) {
    return `gaia-sentinel ${name}: unexpected error${f.code === null ? '' : ` (code ${f.code})`}, please report it: ${f.stack}\n`;
  }
  const code = f.code === null ? '' : f.code.startsWith('GAIA_') ? ` [${f.code}]` : ` (${f.code})`;
  return `gaia-sentinel ${name}: ${f.message}${code}${f.retriable ? ' (transient: a restart may succeed)' : ''}\n${f.usage ? `\n${f.usage}` : ''}`;
}

/**
 * The exit code and the stderr output of a failed command: one line (then the usage, for a
 * usage error), or under --json exactly one JSON line {"error":{command, code, message, retriable}}.
 */
export function report(name: string, commandUsage: string, err: unknown, io: CliIO, json = false): number {
  const f = failureOf(err, commandUsage);
  if (json) {
    io.stderr.write(`${JSON.stringify({ error: { command: name, code: f.code, message: f.message, retriable: f.retriable } })}\n`);
  } else {
    io.stderr.write(textLine(name, f));
  }
  return f.exit;
}
