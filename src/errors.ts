/**
 * The one error type of gaia-sentinel. Every failure carries a stable `code` from a closed
 * set, a message that says what was wrong, the value, and what to do, an optional `cause`,
 * and whether retrying the same operation can succeed. Retry and restart decisions read
 * only `code` and `retriable`, never the message. Codes are documented in docs/ERRORS.md.
 */
export const ErrorCodes = {
  /** The file is not a readable ONNX model. */
  ONNX_PARSE: 'GAIA_ONNX_PARSE',
  /** A tensor's external data location is absolute, has a `..` component, leaves the model's folder, or is missing. */
  EXTERNAL_DATA_PATH: 'GAIA_EXTERNAL_DATA_PATH',
  /** A tensor's external data (offset, length) does not match its dims or the bytes its file holds. */
  EXTERNAL_DATA_SIZE: 'GAIA_EXTERNAL_DATA_SIZE',
  /** An external data file's SHA-1 differs from the checksum the model declares for it. */
  EXTERNAL_DATA_CHECKSUM: 'GAIA_EXTERNAL_DATA_CHECKSUM',
  /** A tensor stored in the model file holds more or less data than its dims declare. */
  TENSOR_SIZE: 'GAIA_TENSOR_SIZE',
  /** The model uses an operator (or an attribute value) the backward pass does not support. */
  UNSUPPORTED_OP: 'GAIA_UNSUPPORTED_OP',
  /** The model's opset or IR version is outside the supported range. */
  UNSUPPORTED_OPSET: 'GAIA_UNSUPPORTED_OPSET',
  /** The model is not an image classifier with a 2-D logits output. */
  NOT_A_CLASSIFIER: 'GAIA_NOT_A_CLASSIFIER',
  /** The tap selection matched nothing, or a tap cannot reach the logits. */
  BAD_TAPS: 'GAIA_BAD_TAPS',
  /** A requested score head cannot be built for this model. */
  BAD_HEAD: 'GAIA_BAD_HEAD',
  /** A head needs statistics of ID training features (react, mahalanobis) that are missing, malformed, or made for another model. */
  FEATURE_STATS: 'GAIA_FEATURE_STATS',
  /** A static shape needed by the backward pass could not be inferred. */
  SHAPE_INFERENCE: 'GAIA_SHAPE_INFERENCE',
  /** A graph failed verification (dangling input, duplicate output, cycle). */
  INVALID_GRAPH: 'GAIA_INVALID_GRAPH',
  /** A command-line argument or configuration value is invalid. */
  BAD_CONFIG: 'GAIA_BAD_CONFIG',
  /** A frame could not be decoded or breaks a limit (its reason says which). */
  BAD_FRAME: 'GAIA_BAD_FRAME',
  /** The inference runtime failed to load a model or run a batch. */
  RUNTIME: 'GAIA_RUNTIME',
  /** A calibration was made for another model or preprocessing (fingerprint mismatch). */
  CALIBRATION_MISMATCH: 'GAIA_CALIBRATION_MISMATCH',
  /** `calibrate` got too few in-distribution frames, or rejected too many of them, to trust the threshold. */
  CALIBRATION_DATA: 'GAIA_CALIBRATION_DATA',
  /** A file could not be read or written. */
  IO: 'GAIA_IO',
  /** A Kafka operation failed (the message names the operation, topic and Kafka error; `retriable` says whether a restart can succeed). */
  KAFKA: 'GAIA_KAFKA',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface GaiaErrorOptions {
  cause?: unknown;
  retriable?: boolean;
  /** The ONNX node the error is about, when there is one. */
  node?: string;
}

export class GaiaError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly node: string | undefined;

  constructor(code: ErrorCode, message: string, options: GaiaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GaiaError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.node = options.node;
  }
}

export function isGaiaError(err: unknown): err is GaiaError {
  return err instanceof GaiaError;
}
