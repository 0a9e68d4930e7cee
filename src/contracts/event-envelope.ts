/**
 * A verdict or an event as the record every sink publishes: key = what it is about (the
 * frame source), CloudEvents attributes as headers, the JSON data as the value. The id
 * rules live here: what identifies each kind's cause (docs/EVENTS.md, "Deduplication").
 */
import { cloudEventHeaders, eventId, type EventKind } from './cloud-events.js';
import type { AlertEvent, VerdictRecord } from './events.js';

export interface Envelope {
  readonly key: string;
  readonly headers: Record<string, string>;
  readonly value: string;
}

/** What makes the event unique: the input frame's coordinates, or the episode or reload it closes. */
function cause(e: AlertEvent): { subject: string; time: number; parts: Array<string | number | undefined> } {
  switch (e.type) {
    case 'frame-ood':
      return { subject: e.source, time: e.capturedAt ?? e.scoredAt, parts: [e.topic, e.partition, e.offset ?? e.frameId] };
    case 'drift-started':
    case 'drift-resolved':
      return { subject: e.source, time: e.ts, parts: [e.trigger.topic, e.trigger.partition, e.trigger.offset ?? e.trigger.frameId] };
    case 'drift-state-reset':
    case 'drift-silent':
      // No frame causes it: the episode it ends does (one per episode).
      return { subject: e.source, time: e.ts, parts: [e.source, e.startedAt] };
    case 'calibration-changed':
      return { subject: e.model, time: e.ts, parts: [e.model, e.previous?.digest, e.current.digest, e.ts] };
    case 'frozen-frame':
    case 'broken-frames':
      // The frame that started or ended the episode (its state tells the two apart).
      return { subject: e.source, time: e.ts, parts: [e.state, e.trigger.topic, e.trigger.partition, e.trigger.offset ?? e.trigger.frameId] };
  }
}

export function eventEnvelope(e: AlertEvent, ceSource: string): Envelope {
  const c = cause(e);
  const kind: EventKind = e.type;
  return {
    key: c.subject,
    headers: cloudEventHeaders({ kind, id: eventId(kind, c.parts), source: ceSource, subject: c.subject, time: c.time }),
    value: JSON.stringify(e),
  };
}

export function verdictEnvelope(r: VerdictRecord, ceSource: string): Envelope {
  const id = eventId('frame-scored', [r.topic, r.partition, r.offset ?? r.frameId]);
  return {
    key: r.source,
    // The frame's own time, so that a redelivery's headers are the same as the first delivery's.
    headers: cloudEventHeaders({ kind: 'frame-scored', id, source: ceSource, subject: r.source, time: r.capturedAt ?? r.scoredAt }),
    value: JSON.stringify(r),
  };
}
