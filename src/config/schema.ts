/**
 * Configuration schema (convict): every key has a default, a doc string and an env var.
 * Keys grow with the agent; today they cover the model package, the runtime and the
 * replay source.
 */
import { cameraSchema } from './schema-camera.js';
import { calibrationSchema, driftSchema } from './schema-drift.js';
import { logSchema, shutdownTimeoutSchema, telemetrySchema } from './schema-operations.js';
import { framesSchema, modelSchema, runtimeSchema } from './schema-scoring.js';
import { kafkaSchema, replaySchema, sourceSchema } from './schema-source.js';
import { evidenceSchema } from './schema-evidence.js';

// The sections live in schema-*.ts; this order is the keys' order (CONFIG_KEYS, docs/CONFIG.md).
export const schema = {
  model: modelSchema,
  source: sourceSchema,
  kafka: kafkaSchema,
  telemetry: telemetrySchema,
  shutdownTimeoutMs: shutdownTimeoutSchema,
  calibration: calibrationSchema,
  runtime: runtimeSchema,
  drift: driftSchema,
  frames: framesSchema,
  replay: replaySchema,
  log: logSchema,
  camera: cameraSchema,
  evidence: evidenceSchema,
};
