/**
 * `gaia-sentinel produce`: image files and folders → the frames topic, as cameras would
 * send them (key = source, content-type, frame-id, ts), for smoke tests, demos and load
 * tests. Connects with the agent's Kafka settings (brokers, TLS, SASL: docs/CONFIG.md).
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { kafkaConnection } from '../stream/kafka/client.js';
import { loadConfig } from '../config/load.js';
import { ErrorCodes, GaiaError } from '../errors.js';
import { readBounded } from '../files.js';
import { sniffFormat } from '../frames/sniff.js';
import { KafkaFrameProducer, type OutgoingFrame } from '../stream/kafka/frame-producer.js';
import { createLogger } from '../telemetry/logger.js';
import { wholeNumber } from './flags.js';
import { UsageError, type CliIO } from './io.js';

export const produceUsage = `Usage: gaia-sentinel produce PATH... [--source ID] [--sources N] [--fps F] [--repeat N]
                           [--topic T] [--content-type TYPE] [--json] [--config FILE]

Sends image files (and every file of the given folders, in name order) to the frames topic,
one Kafka message per frame: key = the source id, headers content-type (from the bytes),
frame-id (<file name>#<run>.<pass>, the run being its start time in base 36, so ids never
repeat across runs) and ts (send time, ms since the epoch). Kafka connection:
the agent's settings (GAIA_KAFKA_BROKERS, TLS, SASL; docs/CONFIG.md).

  --source ID          source id, the message key (default camera-1)
  --sources N          N sources ID-0 … ID-(N-1), each sending every frame (default 1)
  --fps F              frames per second per source (default 0: as fast as the brokers take them)
  --repeat N           passes over the files (default 1; 0: until interrupted)
  --topic T            default: kafka.framesTopic (GAIA_KAFKA_FRAMES_TOPIC, gaia.frames)
  --content-type TYPE  send this content-type for every file instead of detecting it
                       (files that are not images are otherwise skipped)
  --json               print the summary as one JSON object
`;

interface ImageFile {
  readonly path: string;
  readonly contentType: string;
}

const CONTENT_TYPES: Record<string, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif', tiff: 'image/tiff', avif: 'image/avif', heif: 'image/heif' };
/** Room for the key, headers and record overhead within a produce request. */
const OVERHEAD_BYTES = 4096;

/** The files to send, in order, with their content types; what cannot be sent is reported and left out. */
async function listFrames(paths: readonly string[], maxBytes: number, forced: string | undefined, warn: (line: string) => void): Promise<ImageFile[]> {
  const files: string[] = [];
  for (const p of paths) {
    const info = await stat(p).catch((cause: Error) => {
      throw new GaiaError(ErrorCodes.BAD_CONFIG, `${p} cannot be read: ${cause.message}`, { cause });
    });
    if (!info.isDirectory()) {
      files.push(p);
      continue;
    }
    for (const name of (await readdir(p)).sort()) {
      if (!name.startsWith('.') && (await stat(join(p, name))).isFile()) files.push(join(p, name));
    }
  }
  const frames: ImageFile[] = [];
  for (const path of files) {
    const size = (await stat(path)).size;
    if (size > maxBytes) {
      warn(`skipped ${path}: ${size} bytes, over the topic's limit of ${maxBytes} (kafka.maxMessageBytes, Kafka's default max.message.bytes is 1048588)`);
      continue;
    }
    const format = sniffFormat(await readBounded(path, 4096));
    const contentType = forced ?? (format && CONTENT_TYPES[format]);
    if (!contentType) {
      warn(`skipped ${path}: not an image gaia-sentinel decodes${format ? ` (${format})` : ''}; --content-type sends it anyway`);
      continue;
    }
    frames.push({ path, contentType });
  }
  if (frames.length === 0) throw new GaiaError(ErrorCodes.BAD_CONFIG, `no image files to send in ${paths.join(', ')}`);
  return frames;
}

export async function produceCommand(argv: string[], io: CliIO): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      source: { type: 'string' },
      sources: { type: 'string' },
      fps: { type: 'string' },
      repeat: { type: 'string' },
      topic: { type: 'string' },
      'content-type': { type: 'string' },
      json: { type: 'boolean', default: false },
      config: { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length === 0) throw new UsageError('produce needs at least one image file or folder', produceUsage);
  const fps = values.fps === undefined ? 0 : Number(values.fps);
  if (!(fps >= 0) || values.fps?.trim() === '') throw new GaiaError(ErrorCodes.BAD_CONFIG, `--fps must be a number ≥ 0, got "${values.fps}"`);
  const sourceCount = wholeNumber('--sources', values.sources, 1);
  const repeat = wholeNumber('--repeat', values.repeat, 1, 0);
  const base = values.source ?? 'camera-1';
  if (base === '') throw new GaiaError(ErrorCodes.BAD_CONFIG, '--source must not be empty');
  const sources = sourceCount === 1 ? [base] : Array.from({ length: sourceCount }, (_, i) => `${base}-${i}`);

  const config = loadConfig({ ...(values.config ? { file: values.config } : {}) });
  const log = createLogger(config.log);
  const limit = config.kafka.maxMessageBytes - OVERHEAD_BYTES;
  const files = await listFrames(positionals, limit, values['content-type'], (line) => io.stderr.write(`${line}\n`));
  const topic = values.topic ?? config.kafka.framesTopic;
  const producer = await KafkaFrameProducer.create({ ...kafkaConnection(config, log), topic });

  // Ctrl-C ends after the frames in flight, with the summary of what was sent.
  let stopped = false;
  const stop = () => (stopped = true);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const started = Date.now();
  // Frame ids name the run as well as the file and the pass, so a second run sends new ids.
  const run = started.toString(36);
  let sent = 0;
  let pending: OutgoingFrame[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    await producer.send(pending);
    sent += pending.length;
    pending = [];
    pendingBytes = 0;
  };
  try {
    let tick = 0;
    for (let pass = 0; !stopped && (repeat === 0 || pass < repeat); pass++) {
      for (const file of files) {
        if (stopped) break;
        if (fps > 0) {
          const due = started + (tick * 1000) / fps;
          const wait = due - Date.now();
          if (wait > 0) await sleep(wait);
        }
        tick++;
        const value = await readBounded(file.path, limit);
        const ts = Date.now();
        for (const source of sources) {
          // One produce request stays under the topic limit (a record batch counts against it whole).
          if (pendingBytes + value.byteLength > limit) await flush();
          pending.push({ source, frameId: `${basename(file.path)}#${run}.${pass}`, value, contentType: file.contentType, ts });
          pendingBytes += value.byteLength + OVERHEAD_BYTES / 16;
        }
        if (fps > 0 || pending.length >= 256) await flush();
      }
    }
    await flush();
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    await producer.close();
  }
  const seconds = (Date.now() - started) / 1000;
  const summary = { topic, sent, files: files.length, sources, fps, seconds, framesPerSecond: seconds > 0 ? sent / seconds : sent, interrupted: stopped };
  io.stdout.write(
    values.json
      ? `${JSON.stringify(summary)}\n`
      : `sent ${sent} frames (${files.length} files × ${sources.length} source${sources.length > 1 ? 's' : ''}) to ${topic} in ${seconds.toFixed(1)} s (${summary.framesPerSecond.toFixed(0)} frames/s)${stopped ? ', interrupted' : ''}\n`,
  );
}
