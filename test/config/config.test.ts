/**
 * Configuration loading (convict): defaults < config file < environment < overrides, and an
 * invalid value stops startup with a GAIA_BAD_CONFIG error naming the key, its env var and
 * the value (docs/ERRORS.md). The environment is always passed explicitly: process.env is
 * never read or changed here.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, type LoadOptions } from '../../src/config/load.js';
import { ErrorCodes, GaiaError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'gaia-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function configFile(content: unknown): string {
  const path = join(dir, `config-${++fileCount}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function loadError(options: LoadOptions): GaiaError {
  try {
    loadConfig(options);
  } catch (err) {
    expect(err).toBeInstanceOf(GaiaError);
    return err as GaiaError;
  }
  throw new Error(`expected loadConfig(${JSON.stringify(options)}) to throw`);
}

/** True when `value` appears in `message` as a token of its own (not inside a longer word or number). */
function namesValue(message: string, value: string): boolean {
  const escaped = value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^\\w.-])${escaped}($|[^\\w.])`).test(message);
}

/** Defaults of the keys neither test below overrides (Kafka, telemetry, lifecycle). */
const KAFKA_AND_SERVICE_DEFAULTS = {
  source: { kind: 'replay' },
  kafka: {
    brokers: ['127.0.0.1:9092'],
    clientId: 'gaia-sentinel',
    groupId: 'gaia-sentinel',
    eventSource: '',
    ssl: false,
    saslMechanism: '',
    saslUsername: '',
    saslPassword: '',
    framesTopic: 'gaia.frames',
    alertsTopic: 'gaia.alerts',
    frameOodOnAlerts: false,
    scoresTopic: '',
    dlqTopic: 'gaia.frames.dlq',
    sslCaFile: '',
    sslCertFile: '',
    sslKeyFile: '',
    maxBytesPerPartition: 16 * 1024 * 1024,
    sessionTimeoutMs: 30_000,
    fetchMaxWaitMs: 100,
    commitIntervalMs: 1000,
    maxMessageBytes: 1_048_588,
    retries: 30,
    fromBeginning: true,
    exactlyOnce: false,
    lingerMs: 0,
    transactionIntervalMs: 100,
    transactionalId: '',
    fetchMaxBytes: 0,
  },
  telemetry: { host: '127.0.0.1', port: 9464, allowSources: [], topKSources: 50, maxConnections: 64, requestTimeoutMs: 10_000, readyStaleMs: 15_000 },
  shutdownTimeoutMs: 30_000,
};

describe('loadConfig defaults', () => {
  it('loads every default with an empty environment', () => {
    expect(loadConfig({ env: {} })).toEqual({
      model: { dir: 'models/fmnist-cnn', taps: 'bn', gaiaZMode: 'pattern', verdictHead: '' },
      ...KAFKA_AND_SERVICE_DEFAULTS,
      calibration: { path: '', watchIntervalMs: 0 },
      runtime: { executionProviders: ['auto'], requireGpu: false, cudaDeviceId: 0, padBatches: 'auto', warmup: 'auto', intraOpThreads: 0, maxBatch: 32, maxWaitMs: 20, highWaterMark: 256, batchTimeoutMs: 60_000, decodeConcurrency: 4, spinWait: false },
      drift: { expectedRunTime: 18_144_000, referenceFps: 30, window: 500, alpha: 0, pValueCusum: true, resolveRate: 0, resolveAfterMs: 1000, changelog: true, changelogTopic: '', silenceMs: 900_000, idleForgetMs: 3_600_000, partialShifts: true },
      frames: { maxBytes: 8 * 1024 * 1024, maxPixels: 40_000_000, formats: ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif', 'heif'], decodeTimeoutMs: 2_000, damaged: 'dead-letter' },
      replay: { dirs: [], source: 'camera-1', fps: 400 },
      log: { level: 'info', format: 'auto' },
      camera: { inputStatistics: 'auto', frozenFrames: 30, brokenFrames: { window: 1000, baselineRate: 0.002, expectedRunTime: 18_144_000 } },
      evidence: { enabled: true, framesPerSource: 8, sources: 50, recentEpisodes: 20, thumbnailSize: 96, publicBaseUrl: '', tokenFile: '' },
    });
  });

  it('ignores environment variables that are not in the schema', () => {
    const config = loadConfig({ env: { GAIA_NOT_A_KEY: '7', PATH: '/usr/bin' } });
    expect(config.runtime.maxBatch).toBe(32);
  });
});

describe('environment variables', () => {
  it('override the defaults, with each value coerced to its format', () => {
    const config = loadConfig({
      env: {
        GAIA_MODEL_DIR: '/srv/models/other',
        GAIA_MODEL_TAPS: 'stages:2',
        GAIA_MODEL_GAIA_Z_MODE: 'float',
        GAIA_EXECUTION_PROVIDERS: ' cpu , cuda ',
        GAIA_REQUIRE_GPU: 'true',
        GAIA_INTRA_OP_THREADS: '3',
        GAIA_SPIN_WAIT: 'on',
        GAIA_MAX_BATCH: '8',
        GAIA_FRAME_MAX_BYTES: '1024',
        GAIA_FRAME_MAX_PIXELS: '250000',
        GAIA_REPLAY_DIRS: 'frames/a,frames/b',
        GAIA_LOG_LEVEL: 'debug',
        GAIA_CALIBRATION: '/srv/calibration/other.json',
      },
    });
    expect(config).toEqual({
      model: { dir: '/srv/models/other', taps: 'stages:2', gaiaZMode: 'float', verdictHead: '' },
      ...KAFKA_AND_SERVICE_DEFAULTS,
      calibration: { path: '/srv/calibration/other.json', watchIntervalMs: 0 },
      runtime: { executionProviders: ['cpu', 'cuda'], requireGpu: true, cudaDeviceId: 0, padBatches: 'auto', warmup: 'auto', intraOpThreads: 3, maxBatch: 8, maxWaitMs: 20, highWaterMark: 256, batchTimeoutMs: 60_000, decodeConcurrency: 4, spinWait: true },
      drift: { expectedRunTime: 18_144_000, referenceFps: 30, window: 500, alpha: 0, pValueCusum: true, resolveRate: 0, resolveAfterMs: 1000, changelog: true, changelogTopic: '', silenceMs: 900_000, idleForgetMs: 3_600_000, partialShifts: true },
      frames: { maxBytes: 1024, maxPixels: 250_000, formats: ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif', 'heif'], decodeTimeoutMs: 2_000, damaged: 'dead-letter' },
      replay: { dirs: ['frames/a', 'frames/b'], source: 'camera-1', fps: 400 },
      log: { level: 'debug', format: 'auto' },
      camera: { inputStatistics: 'auto', frozenFrames: 30, brokenFrames: { window: 1000, baselineRate: 0.002, expectedRunTime: 18_144_000 } },
      evidence: { enabled: true, framesPerSource: 8, sources: 50, recentEpisodes: 20, thumbnailSize: 96, publicBaseUrl: '', tokenFile: '' },
    });
  });

  it('reads GAIA_REQUIRE_GPU=false as false', () => {
    expect(loadConfig({ env: { GAIA_REQUIRE_GPU: 'false' } }).runtime.requireGpu).toBe(false);
  });

  // convict's own Boolean coercion is `String(v).toLowerCase() !== 'false'`, so "0" would
  // turn the GPU requirement on; the schema's strict "bool" format must not.
  it.each(['0', 'no', 'off', ''])(
    'does not turn requireGpu on for GAIA_REQUIRE_GPU=%j',
    (value) => {
      let requireGpu: boolean | undefined;
      try {
        requireGpu = loadConfig({ env: { GAIA_REQUIRE_GPU: value } }).runtime.requireGpu;
      } catch (err) {
        // Refusing the value is as good as reading it as false.
        expect((err as GaiaError).code).toBe(ErrorCodes.BAD_CONFIG);
        return;
      }
      expect(requireGpu).toBe(false);
    },
  );

  it('keep each load independent (no state leaks between calls)', () => {
    expect(loadConfig({ env: { GAIA_MAX_BATCH: '8' } }).runtime.maxBatch).toBe(8);
    expect(loadConfig({ env: {} }).runtime.maxBatch).toBe(32);
  });
});

describe('precedence', () => {
  it('is defaults < file < environment < overrides', () => {
    const file = configFile({ runtime: { maxBatch: 4 }, log: { level: 'warn' } });
    const fromFile = loadConfig({ file, env: {} });
    expect(fromFile.runtime.maxBatch).toBe(4);
    expect(fromFile.log.level).toBe('warn');
    expect(fromFile.frames.maxBytes).toBe(8 * 1024 * 1024); // untouched keys keep their default

    expect(loadConfig({ file, env: { GAIA_MAX_BATCH: '8' } }).runtime.maxBatch).toBe(8);
    const overridden = loadConfig({ file, env: { GAIA_MAX_BATCH: '8' }, overrides: { 'runtime.maxBatch': 16, 'replay.dirs': ['x'] } });
    expect(overridden.runtime.maxBatch).toBe(16);
    expect(overridden.replay.dirs).toEqual(['x']);
    expect(overridden.log.level).toBe('warn');
  });
});

describe('invalid values', () => {
  // [env var, raw value, key, a fragment of the reason, the bad value as the message shows it]
  const cases = [
    ['GAIA_MAX_BATCH', '2.5', 'runtime.maxBatch', 'positive integer', '2.5'],
    ['GAIA_MAX_BATCH', '-3', 'runtime.maxBatch', 'positive integer', '-3'],
    ['GAIA_EXECUTION_PROVIDERS', 'tpu,cpu', 'runtime.executionProviders', 'is not one of cpu, cuda', '"tpu"'],
    ['GAIA_LOG_LEVEL', 'loud', 'log.level', 'must be one of', '"loud"'],
    ['GAIA_INTRA_OP_THREADS', '-1', 'runtime.intraOpThreads', '', '-1'],
    ['GAIA_FRAME_MAX_PIXELS', '-5', 'frames.maxPixels', 'positive integer', '-5'],
    ['GAIA_CAMERA_BROKEN_BASELINE_RATE', '1.5', 'camera.brokenFrames.baselineRate', 'strictly between 0 and 1', '1.5'],
  ] as const;

  it.each(cases)('%s=%s is refused with GAIA_BAD_CONFIG naming the key, the env var and the value', (env, value, key, reason, shown) => {
    const err = loadError({ env: { [env]: value } });
    expect(err.code).toBe(ErrorCodes.BAD_CONFIG);
    expect(err.message).toContain(key);
    expect(err.message).toContain(env);
    expect(err.message).toContain(reason);
    expect(namesValue(err.message, shown)).toBe(true);
    expect(err.cause).toBeInstanceOf(Error);
  });

  it('refuses an empty provider list (GAIA_EXECUTION_PROVIDERS=" , ")', () => {
    const err = loadError({ env: { GAIA_EXECUTION_PROVIDERS: ' , ' } });
    expect(err.code).toBe(ErrorCodes.BAD_CONFIG);
    expect(err.message).toContain('runtime.executionProviders');
    expect(err.message).toContain('GAIA_EXECUTION_PROVIDERS');
    expect(err.message).toContain('non-empty');
  });

  it('GAIA_MAX_BATCH=0 is refused with GAIA_BAD_CONFIG naming the key and the env var', () => {
    const err = loadError({ env: { GAIA_MAX_BATCH: '0' } });
    expect(err.code).toBe(ErrorCodes.BAD_CONFIG);
    expect(err.message).toContain('runtime.maxBatch');
    expect(err.message).toContain('GAIA_MAX_BATCH');
    expect(err.message).toContain('positive integer');
  });

  // convict appends ": value was X" only when X is truthy (`if (e.value && ...)` in
  // convict/src/main.js), and coercion has turned "abc" into NaN: load.ts must add the
  // value as given in the environment.
  it.each([
    ['GAIA_MAX_BATCH', '0'],
    ['GAIA_MAX_BATCH', 'abc'],
    ['GAIA_FRAME_MAX_BYTES', '0'],
  ])('%s=%s: the message names the bad value', (env, value) => {
    const err = loadError({ env: { [env]: value } });
    expect(err.code).toBe(ErrorCodes.BAD_CONFIG);
    expect(namesValue(err.message, value)).toBe(true);
  });

  it('an invalid override is refused too, naming the key', () => {
    const err = loadError({ env: {}, overrides: { 'runtime.maxBatch': -7 } });
    expect(err.code).toBe(ErrorCodes.BAD_CONFIG);
    expect(err.message).toContain('runtime.maxBatch');
    expect(namesValue(err.message, '-7')).toBe(true);
  });

  it('an unknown override key is refused', () => {
    const err = loadError({ env: {}, overrides: { 'runtime.bogus': 1 } });
    expect(err.code).toBe(ErrorCodes.BAD_CONFIG);
    expect(err.message).toContain('runtime.bogus');
  });
});

describe('config files', () => {
  it('refuses an unknown key, naming it', () => {
    const err = loadError({ file: configFile({ runtime: { maxBatch: 4, bogus: 1 } }), env: {} });
    expect(err.code).toBe(ErrorCodes.BAD_CONFIG);
    expect(err.message).toContain('runtime.bogus');
  });

  it('refuses an unknown top-level section', () => {
    const err = loadError({ file: configFile({ mqtt: { brokers: ['localhost:1883'] } }), env: {} });
    expect(err.code).toBe(ErrorCodes.BAD_CONFIG);
    expect(err.message).toContain('mqtt');
  });

  it('refuses an invalid value from the file, naming the key', () => {
    const err = loadError({ file: configFile({ log: { level: 'loud' } }), env: {} });
    expect(err.code).toBe(ErrorCodes.BAD_CONFIG);
    expect(err.message).toContain('log.level');
    expect(err.message).toContain('loud');
  });

  it('refuses a missing file, naming its path', () => {
    const path = join(dir, 'does-not-exist.json');
    const err = loadError({ file: path, env: {} });
    expect(err.code).toBe(ErrorCodes.BAD_CONFIG);
    expect(err.message).toContain(path);
  });

  it('refuses a file that is not JSON', () => {
    const err = loadError({ file: configFile('{ "runtime": '), env: {} });
    expect(err.code).toBe(ErrorCodes.BAD_CONFIG);
  });

  it('names the file when it is not valid JSON', () => {
    const path = configFile('{ "runtime": ');
    const err = loadError({ file: path, env: {} });
    expect(err.message).toContain(path);
  });
});

describe('the returned config', () => {
  it('is frozen at the top level', () => {
    const config = loadConfig({ env: {} });
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { runtime: unknown }).runtime = {};
    }).toThrow(TypeError);
  });

  it('is frozen all the way down', () => {
    const config = loadConfig({ env: {} });
    expect(Object.isFrozen(config.runtime)).toBe(true);
    expect(Object.isFrozen(config.runtime.executionProviders)).toBe(true);
    expect(() => {
      (config.runtime as { maxBatch: number }).maxBatch = 0;
    }).toThrow(TypeError);
  });
});

describe('cross-field rules', () => {
  it('refuses a fetch size below the frame limit, naming both keys and env vars', () => {
    const err = loadError({ env: { GAIA_FRAME_MAX_BYTES: '2000000', GAIA_KAFKA_MAX_BYTES_PER_PARTITION: '1000000' } });
    expect(err.code).toBe(ErrorCodes.BAD_CONFIG);
    expect(err.message).toContain('kafka.maxBytesPerPartition');
    expect(err.message).toContain('GAIA_KAFKA_MAX_BYTES_PER_PARTITION');
    expect(err.message).toContain('frames.maxBytes');
  });

  it('refuses a batch wait that is not far below the Kafka session timeout', () => {
    const err = loadError({ env: { GAIA_MAX_WAIT_MS: '5000', GAIA_KAFKA_SESSION_TIMEOUT_MS: '30000' } });
    expect(err.message).toContain('runtime.maxWaitMs');
    expect(err.message).toContain('kafka.sessionTimeoutMs');
  });

  it('refuses TLS files without kafka.ssl, and a client certificate without its key', () => {
    const noSsl = loadError({ env: { GAIA_KAFKA_SSL_CA_FILE: '/etc/kafka/ca.pem' } });
    expect(noSsl.message).toContain('kafka.sslCaFile');
    expect(noSsl.message).toContain('GAIA_KAFKA_SSL');
    const halfMutual = loadError({ env: { GAIA_KAFKA_SSL: 'true', GAIA_KAFKA_SSL_CERT_FILE: '/etc/kafka/client.pem' } });
    expect(halfMutual.message).toContain('kafka.sslKeyFile');
  });

  it('reads a sensitive key from the file its _FILE variable names, dropping one trailing newline', () => {
    const file = join(dir, 'kafka-password');
    writeFileSync(file, 's3cr3t with spaces \n');
    const config = loadConfig({ env: { GAIA_KAFKA_SASL_PASSWORD_FILE: file } });
    expect(config.kafka.saslPassword).toBe('s3cr3t with spaces ');
  });

  it('refuses a _FILE variable set with its plain twin, or naming a file that cannot be read', () => {
    const file = join(dir, 'kafka-password-2');
    writeFileSync(file, 'x');
    const both = loadError({ env: { GAIA_KAFKA_SASL_PASSWORD: 'y', GAIA_KAFKA_SASL_PASSWORD_FILE: file } });
    expect(both.message).toContain('both GAIA_KAFKA_SASL_PASSWORD and GAIA_KAFKA_SASL_PASSWORD_FILE');
    const missing = loadError({ env: { GAIA_KAFKA_SASL_PASSWORD_FILE: join(dir, 'nope') } });
    expect(missing.message).toMatch(/GAIA_KAFKA_SASL_PASSWORD_FILE names .*nope, which cannot be read/);
    expect(missing.message).not.toContain('s3cr3t');
  });

  it('refuses a SASL mechanism without a user name', () => {
    expect(loadError({ env: { GAIA_KAFKA_SASL_MECHANISM: 'plain' } }).message).toContain('GAIA_KAFKA_SASL_USERNAME');
  });
});
