/**
 * Outputs as Kafka records that always fit the output topics' message limit (Kafka's
 * default max.message.bytes is 1 MB; a record over it is refused with MESSAGE_TOO_LARGE,
 * forever, and would stall its input partition). Dead letters carry the original key,
 * value and headers while they fit; above the limit the value, and if still needed the
 * original headers, are replaced by their size and SHA-256 digest, next to the frame's
 * coordinates (topic/partition/offset) so it can be fetched from the input topic.
 * kafkajs sends all of one partition's records in one produce request as one record
 * batch, which the limit also bounds: sends are split by bytes (`chunks`).
 */
import { createHash } from 'node:crypto';
import type { IHeaders, Message, TopicMessages } from 'kafkajs';
import type { BatchOutputs } from '../../contracts/stream.js';
import { eventEnvelope, verdictEnvelope, type Envelope } from '../../contracts/event-envelope.js';
import type { DeadLetter } from '../../contracts/events.js';

/** Record and batch framing Kafka adds (varints, attributes, CRC, batch header), over-estimated. */
const RECORD_OVERHEAD = 64;
const BATCH_OVERHEAD = 128;

export interface OutputTopics {
  readonly alertsTopic: string;
  /**
   * Per-frame frame-ood events on the alerts topic too (default: off; the scores topic has
   * every verdict with its `flagged`). About 5% of normal frames are flagged by design.
   */
  readonly frameOodOnAlerts?: boolean;
  /** The CloudEvents `source` of every event (docs/EVENTS.md). */
  readonly eventSource: string;
  /** Empty: verdicts are not published. */
  readonly scoresTopic: string;
  readonly dlqTopic: string;
  /** Compacted topic of drift windows keyed by source (empty: none). */
  readonly changelogTopic?: string;
  /** The output topics' max.message.bytes (the smallest of them). */
  readonly maxMessageBytes: number;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function byteLength(v: Buffer | string | null | undefined): number {
  return v === null || v === undefined ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.byteLength;
}

/** Bytes a record takes in a record batch (an upper bound). */
export function recordBytes(m: Message): number {
  let n = RECORD_OVERHEAD + byteLength(m.key) + byteLength(m.value as Buffer | string | null);
  for (const [name, v] of Object.entries(m.headers ?? {})) {
    for (const one of Array.isArray(v) ? v : [v]) n += 8 + Buffer.byteLength(name) + byteLength(one as Buffer | string | undefined);
  }
  return n;
}

const message = (e: Envelope): Message => ({ key: e.key, value: e.value, headers: e.headers });

function toBuffer(v: Uint8Array | string): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** The dead letter's original headers as sent (bytes stay bytes), or the text view where there is no original. */
function originalHeaders(d: DeadLetter): IHeaders {
  if (!d.original) return Object.fromEntries(Object.entries(d.headers).filter((e): e is [string, string] => e[1] !== undefined));
  const out: IHeaders = {};
  for (const [name, v] of Object.entries(d.original.headers)) {
    if (v === undefined) continue;
    out[name] = Array.isArray(v) ? (v as Array<Uint8Array | string>).map(toBuffer) : toBuffer(v as Uint8Array | string);
  }
  return out;
}

/** A dead letter as a DLQ record under `limit` bytes: the original while it fits, else digests. */
export function deadLetterMessage(d: DeadLetter, limit: number): Message {
  const about: IHeaders = {
    'x-error-reason': d.reason,
    // The error text quotes the frame at most briefly; cap it anyway.
    'x-error-message': d.message.length > 1024 ? `${d.message.slice(0, 1021)}...` : d.message,
    'x-source-topic': d.topic ?? '',
    'x-source-partition': String(d.partition ?? ''),
    'x-source-offset': d.offset ?? '',
  };
  const key: Buffer | null = d.original ? (d.original.key === null ? null : toBuffer(d.original.key)) : d.key === undefined ? null : toBuffer(d.key);
  const value = toBuffer(d.value);
  const headers = originalHeaders(d);
  const full: Message = { key, value, headers: { ...headers, ...about } };
  if (recordBytes(full) + BATCH_OVERHEAD <= limit) return full;
  const withoutValue: Message = {
    key,
    value: null,
    headers: { ...headers, ...about, 'x-value-omitted': 'too-large', 'x-value-bytes': String(value.byteLength), 'x-value-sha256': sha256(value) },
  };
  if (recordBytes(withoutValue) + BATCH_OVERHEAD <= limit) return withoutValue;
  // Original headers (or key) too large themselves: keep only their digest.
  const headerBytes = Buffer.from(JSON.stringify(Object.entries(headers).map(([n, v]) => [n, Array.isArray(v) ? v.map(String) : String(v)])));
  return {
    key: key !== null && byteLength(key) > 1024 ? key.subarray(0, 0) : key,
    value: null,
    headers: {
      ...about,
      'x-value-omitted': 'too-large',
      'x-value-bytes': String(value.byteLength),
      'x-value-sha256': sha256(value),
      'x-headers-omitted': 'too-large',
      'x-headers-sha256': sha256(headerBytes),
      ...(key !== null && byteLength(key) > 1024 ? { 'x-key-omitted': 'too-large', 'x-key-sha256': sha256(key) } : {}),
    },
  };
}

/** A delivery's outputs as records per topic, leaving out empty lists (and verdicts when scoresTopic is empty). */
export function topicMessages(out: BatchOutputs, o: OutputTopics): TopicMessages[] {
  const all: TopicMessages[] = [
    {
      topic: o.alertsTopic,
      messages: out.events.filter((e) => o.frameOodOnAlerts || e.type !== 'frame-ood').map((e) => message(eventEnvelope(e, o.eventSource))),
    },
    { topic: o.scoresTopic, messages: o.scoresTopic ? out.records.map((r) => message(verdictEnvelope(r, o.eventSource))) : [] },
    { topic: o.dlqTopic, messages: out.letters.map((d) => deadLetterMessage(d, o.maxMessageBytes)) },
    {
      topic: o.changelogTopic ?? '',
      // Same partition as the source's frames: the new owner of a partition restores from it alone.
      messages: o.changelogTopic
        ? (out.states ?? []).map((s) => ({ key: s.source, value: s.snapshot ? JSON.stringify(s.snapshot) : null, ...(s.partition === undefined ? {} : { partition: s.partition }) }))
        : [],
    },
  ];
  return all.filter((t) => t.messages.length > 0);
}

/**
 * Splits records into sends of at most `limit` bytes each, in order, so that no partition's
 * record batch in one produce request can exceed the topic limit. Most deliveries are one
 * chunk; a record that alone exceeds the limit (it cannot, from topicMessages) would go alone.
 */
export function chunks(batch: readonly TopicMessages[], limit: number): TopicMessages[][] {
  const out: TopicMessages[][] = [];
  let current: TopicMessages[] = [];
  let bytes = BATCH_OVERHEAD;
  const push = (topic: string, m: Message) => {
    const last = current[current.length - 1];
    if (last?.topic === topic) last.messages.push(m);
    else current.push({ topic, messages: [m] });
  };
  for (const t of batch) {
    for (const m of t.messages) {
      const n = recordBytes(m);
      if (bytes + n > limit && current.length > 0) {
        out.push(current);
        current = [];
        bytes = BATCH_OVERHEAD;
      }
      push(t.topic, m);
      bytes += n;
    }
  }
  if (current.length > 0) out.push(current);
  return out;
}
