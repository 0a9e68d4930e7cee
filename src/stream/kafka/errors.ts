/**
 * kafkajs errors as GaiaErrors. kafkajs reports broker errors with a numeric `code` and a
 * `type` name (MESSAGE_TOO_LARGE, ...) and its own `retriable`; everything above the
 * kafka-*.ts files reads only GaiaError's code and `retriable`, so the wrapping happens
 * here, once, naming what was being done and on which topic.
 */
import { ErrorCodes, GaiaError, isGaiaError } from '../../errors.js';

interface KafkaJsLike {
  readonly name?: string;
  readonly message?: string;
  readonly type?: string;
  readonly retriable?: boolean;
  readonly cause?: unknown;
}

/** The innermost kafkajs error (retries wrap the last attempt's error as `cause`). */
function rootCause(err: unknown): KafkaJsLike {
  let e = err as KafkaJsLike;
  for (let i = 0; i < 8 && e && typeof e === 'object' && e.cause && typeof e.cause === 'object'; i++) e = e.cause as KafkaJsLike;
  return e ?? {};
}

/**
 * Whether a restart can succeed. Broker-side refusals that do not change on their own
 * (a record over the topic's size limit, an invalid topic, missing authorisation) are not;
 * lost connections and exhausted retries are.
 */
export function kafkaRetriable(err: unknown): boolean {
  const root = rootCause(err);
  if (root.type && /TOO_LARGE|INVALID|AUTHORIZATION|UNSUPPORTED|CORRUPT/.test(root.type)) return false;
  if ((err as KafkaJsLike)?.name === 'KafkaJSNumberOfRetriesExceeded') return true;
  return root.retriable ?? (err as KafkaJsLike)?.retriable ?? true;
}

/** Wraps a kafkajs error (GaiaErrors pass through): `what` says what was being done, e.g. "publishing to gaia.alerts". */
export function kafkaError(what: string, err: unknown): GaiaError {
  if (isGaiaError(err)) return err;
  const root = rootCause(err);
  const outer = (err as KafkaJsLike)?.message ?? String(err);
  const inner = root !== err && root.message && root.message !== outer ? `: ${root.message}` : '';
  const type = root.type ? ` (${root.type})` : '';
  return new GaiaError(ErrorCodes.KAFKA, `${what} failed${type}: ${outer}${inner}`, { cause: err, retriable: kafkaRetriable(err) });
}
