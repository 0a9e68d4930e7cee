/**
 * The command-line entry: dispatches to one file per command and is the only place that
 * turns errors into exit codes.
 */
import { isGaiaError, ErrorCodes } from '../errors.js';
import { compileCommand, compileUsage } from './compile.js';
import { ExitCode, type CliIO } from './io.js';
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
    .join('\n')}\n\nRun gaia-sentinel <command> --help for its options; gaia-sentinel --version [--json] for the build.\n`;

/** The version line (what bug reports need: ours, the scoring semantics, ORT and Node), or one JSON object. */
function versionText(json: boolean): string {
  const b = buildInfo();
  if (json) return `${JSON.stringify(b)}\n`;
  return `gaia-sentinel ${b.version}\nscoring semantics ${b.scoringSemantics}, onnxruntime-node ${b.onnxruntime}, node ${b.node}\n`;
}

export async function run(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    io.stdout.write(versionText(rest.includes('--json')));
    return ExitCode.OK;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return name ? ExitCode.OK : ExitCode.USAGE;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr.write(`gaia-sentinel: unknown command "${name}"\n\n${usage()}`);
    return ExitCode.USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(command.usage);
    return ExitCode.OK;
  }
  try {
    await command.run(rest, io);
    return ExitCode.OK;
  } catch (err) {
    return report(name, command.usage, err, io, rest.includes('--json'));
  }
}

/**
 * The exit code and the one stderr line for a failed command. Anything may arrive here:
 * kafkajs errors carry numeric codes, a thrown string has no properties at all, so nothing
 * is assumed about `err` beyond what is checked.
 */
export function report(name: string, commandUsage: string, err: unknown, io: CliIO, json = false): number {
  // With --json a tool reads the failure too: one JSON line on stderr before the text one.
  if (json) {
    const e = err as { code?: unknown; message?: unknown; retriable?: unknown } | null | undefined;
    const code = isGaiaError(err) ? err.code : typeof e?.code === 'string' ? e.code : null;
    io.stderr.write(`${JSON.stringify({ error: { command: name, code, message: err instanceof Error ? err.message : String(err), retriable: isGaiaError(err) ? err.retriable : false } })}\n`);
  }
  if (isGaiaError(err)) {
    io.stderr.write(`gaia-sentinel ${name}: ${err.message} [${err.code}]${err.retriable ? ' (transient: a restart may succeed)' : ''}\n`);
    if (err.code === ErrorCodes.BAD_CONFIG) return ExitCode.USAGE;
    return err.retriable ? ExitCode.TRANSIENT : ExitCode.FAILURE;
  }
  const code = (err as { code?: unknown } | null | undefined)?.code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
    io.stderr.write(`gaia-sentinel ${name}: ${(err as Error).message}\n\n${commandUsage}`);
    return ExitCode.USAGE;
  }
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  io.stderr.write(`gaia-sentinel ${name}: unexpected error${code === undefined ? '' : ` (code ${String(code)})`}: ${text}\n`);
  return ExitCode.FAILURE;
}
