/**
 * Outputs as CloudEvents 1.0 in the Kafka protocol binding's binary content mode: the
 * event's attributes are `ce_*` headers, its data (JSON) is the record value, and the
 * Kafka key is the frame source. Written by hand rather than with the `cloudevents` SDK:
 * the binding is eight string headers, where the SDK brings six runtime dependencies and
 * a message shape of its own. The tests parse every record back with the SDK to check
 * conformance (docs/EVENTS.md).
 */
import { createHash } from 'node:crypto';

/** Event types: `io.gaia-sentinel.<subject>.<what>.v<major>`; the major bumps on any change that is not additive. */
export const EVENT_TYPES = {
  'frame-scored': 'io.gaia-sentinel.frame.scored.v1',
  'frame-ood': 'io.gaia-sentinel.frame.ood.v1',
  'drift-started': 'io.gaia-sentinel.drift.started.v1',
  'drift-resolved': 'io.gaia-sentinel.drift.resolved.v1',
  'drift-state-reset': 'io.gaia-sentinel.drift.state-reset.v1',
  'drift-silent': 'io.gaia-sentinel.drift.silent.v1',
  'calibration-changed': 'io.gaia-sentinel.calibration.changed.v1',
  'frozen-frame': 'io.gaia-sentinel.camera.frozen.v1',
  'broken-frames': 'io.gaia-sentinel.camera.broken-frames.v1',
} as const;

export type EventKind = keyof typeof EVENT_TYPES;

/** The JSON Schema of a kind's data (`ce_dataschema`): its `$id`, shipped as schemas/<kind>.v<major>.json. */
export function dataSchema(kind: EventKind): string {
  const major = /\.v(\d+)$/.exec(EVENT_TYPES[kind])![1];
  return `urn:gaia-sentinel:schema:${kind}:v${major}`;
}

/**
 * The event id: a digest of the event type and what identifies its cause (the input
 * frame's topic/partition/offset, or the episode for a reset). The same input gives the
 * same id on every run, so a record replayed under at-least-once can be deduplicated.
 */
export function eventId(kind: EventKind, cause: ReadonlyArray<string | number | undefined>): string {
  const h = createHash('sha256').update(EVENT_TYPES[kind]);
  // A separator no part can contain keeps ("a/b", "c") and ("a", "b/c") apart.
  for (const part of cause) h.update('\u0000').update(part === undefined ? '' : String(part));
  return h.digest('hex').slice(0, 32);
}

export interface CloudEventAttributes {
  readonly kind: EventKind;
  readonly id: string;
  /** URI-reference of the producing context (docs/EVENTS.md: `/gaia-sentinel/<consumer group>`). */
  readonly source: string;
  /** What the event is about: the frame source (camera), or the model for calibration events. */
  readonly subject: string;
  /** When it happened, ms since the epoch. */
  readonly time: number;
}

/** The binary-mode headers of an event. */
export function cloudEventHeaders(a: CloudEventAttributes): Record<string, string> {
  return {
    ce_specversion: '1.0',
    ce_id: a.id,
    ce_source: a.source,
    ce_type: EVENT_TYPES[a.kind],
    ce_time: new Date(a.time).toISOString(),
    ce_subject: a.subject,
    ce_dataschema: dataSchema(a.kind),
    'content-type': 'application/json',
  };
}
