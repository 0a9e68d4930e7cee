/**
 * `gaia-sentinel run`: flags → config → agent → signals. The agent (src/agent/) does the
 * work; this command only wires it to the process: SIGTERM/SIGINT drain it, and past the
 * shutdown deadline it is aborted (a transient failure: exit 75); SIGHUP reloads the
 * calibration. The exit code is set by cli/main.ts from what this throws.
 */
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { Agent } from '../agent/agent.js';
import { loadConfig, type Config } from '../config/load.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import { createLogger } from '../telemetry/logger.js';
import type { CliIO } from './io.js';

export const runUsage = `Usage: gaia-sentinel run [--model DIR] [--replay DIR[*N]]... [--verbose] [--json] [--config FILE]

Scores a stream of frames with GAIA-Z, judges each against the model's calibration, and
watches the drift rate of each source. Source: a replay of image folders as one camera
(default: the model package's samples: id, ood, then id twice), or Kafka (source.kind).

  --model DIR        model package folder (manifest.json + model.onnx; not the .onnx
                     file, which only compile takes); env GAIA_MODEL_DIR
  --replay DIR[*N]   replay phase, N times (repeatable); env GAIA_REPLAY_DIRS
  --verbose          print every verdict, not only events
  --json             print every record the agent publishes (to Kafka, or would in a
                     replay) as NDJSON: topic, key, headers, value (docs/EVENTS.md); a
                     failure ends stderr (the JSON logs) with one {"error": ...} line
  --config FILE      JSON config file (keys: docs/CONFIG.md)
`;

export async function runCommand(argv: string[], io: CliIO): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      replay: { type: 'string', multiple: true },
      verbose: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      config: { type: 'string' },
    },
    strict: true,
  });
  const config = loadConfig({
    ...(values.config ? { file: values.config } : {}),
    overrides: { ...(values.model ? { 'model.dir': values.model } : {}), ...(values.replay ? { 'replay.dirs': values.replay } : {}) },
  });
  const log = createLogger(config.log);
  // Installed before the (slow) start: SIGHUP's default action would kill the process.
  let agent: Agent | undefined;
  const onHup = () => {
    if (agent) log.info({ signal: 'SIGHUP' }, 'reloading the calibration');
    else log.info('SIGHUP during startup: the calibration is read as the agent starts');
    void agent?.reloadCalibration();
  };
  process.on('SIGHUP', onHup);
  try {
    agent = await Agent.create(config, { stdout: io.stdout, log, verbose: values.verbose, json: values.json });
    await runAgent(agent, config, log);
  } finally {
    process.removeListener('SIGHUP', onHup);
  }
}

async function runAgent(agent: Agent, config: Readonly<Config>, log: Logger): Promise<void> {
  // SIGTERM/SIGINT: stop fetching, finish and publish what is in flight, commit, disconnect;
  // past the deadline, abort (nothing more is committed: the frames in flight are redelivered).
  let deadline: NodeJS.Timeout | undefined;
  let overdue: (err: GaiaError) => void = () => {};
  const missed = new Promise<never>((_, reject) => (overdue = reject));
  const stop = (signal: string) => {
    if (deadline) return;
    log.info({ signal, deadlineMs: config.shutdownTimeoutMs }, 'shutting down: finishing in-flight frames');
    void agent.close();
    deadline = setTimeout(() => {
      log.error({ deadlineMs: config.shutdownTimeoutMs }, 'shutdown deadline passed; aborting without a clean close');
      void agent.abort();
      overdue(missedDeadline(config.shutdownTimeoutMs));
    }, config.shutdownTimeoutMs).unref();
  };
  const onTerm = () => stop('SIGTERM');
  const onInt = () => stop('SIGINT');
  process.once('SIGTERM', onTerm);
  process.once('SIGINT', onInt);
  try {
    await Promise.race([agent.run(), missed]);
  } finally {
    clearTimeout(deadline);
    process.removeListener('SIGTERM', onTerm);
    process.removeListener('SIGINT', onInt);
  }
}

/** A drain that missed its deadline: transient (exit 75), as a broker outage while draining usually is; the frames in flight are redelivered. */
const missedDeadline = (ms: number) =>
  new GaiaError(ErrorCodes.RUNTIME, `the agent did not stop within shutdownTimeoutMs (${ms} ms); aborted without committing the frames in flight, which are redelivered after a restart (if the brokers were reachable and this repeats, raise shutdownTimeoutMs, env GAIA_SHUTDOWN_TIMEOUT_MS)`, { retriable: true });
