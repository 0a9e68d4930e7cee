/**
 * `run --json`: every record the sinks publish, one JSON object per line (NDJSON) on
 * stdout, built by the same topicMessages() the Kafka sinks send, so what a user sees is
 * what the brokers get. Text stays text; bytes that are not UTF-8 (a dead letter's frame,
 * a binary header) are base64 under a `*Base64` name.
 */
import type { IHeaders, Message, TopicMessages } from 'kafkajs';
import type { AtomicPublisher, BatchOutputs, OutputSink, SourceMessage } from '../../contracts/stream.js';
import { topicMessages, type OutputTopics } from './records.js';

export interface Writable {
  write(chunk: string): unknown;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function text(v: Buffer | string): { text: string } | { base64: string } {
  if (typeof v === 'string') return { text: v };
  try {
    return { text: utf8.decode(v) };
  } catch {
    return { base64: v.toString('base64') };
  }
}

function headerLines(headers: IHeaders | undefined): { headers: Record<string, string | string[]>; headersBase64?: Record<string, string | string[]> } {
  const plain: Record<string, string | string[]> = {};
  const binary: Record<string, string | string[]> = {};
  for (const [name, v] of Object.entries(headers ?? {})) {
    if (v === undefined) continue;
    const all = (Array.isArray(v) ? v : [v]).map((one) => text(one as Buffer | string));
    const into = all.every((t) => 'text' in t) ? plain : binary;
    const shown = all.map((t) => ('text' in t ? t.text : t.base64));
    into[name] = Array.isArray(v) ? shown : shown[0]!;
  }
  return Object.keys(binary).length > 0 ? { headers: plain, headersBase64: binary } : { headers: plain };
}

/** Bytes as `{ [name]: text }`, or `{ [name + 'Base64']: base64 }` when they are not UTF-8. */
function field(name: string, v: Buffer | string): Record<string, string> {
  const t = text(v);
  return 'text' in t ? { [name]: t.text } : { [`${name}Base64`]: t.base64 };
}

/** One record as a line: topic, partition (when fixed), key, headers and value. */
export function recordLine(topic: string, m: Message): string {
  const key = m.key === null || m.key === undefined ? { key: null } : field('key', m.key);
  const raw = m.value as Buffer | string | null;
  // String values are the JSON the agent wrote (events, verdicts, drift windows): shown as JSON.
  const value = raw === null ? { value: null } : typeof raw === 'string' ? { value: JSON.parse(raw) as unknown } : field('value', raw);
  return `${JSON.stringify({ topic, ...(m.partition === undefined ? {} : { partition: m.partition }), ...key, ...headerLines(m.headers), ...value })}\n`;
}

export function writeRecords(out: Writable, batch: readonly TopicMessages[]): void {
  const lines: string[] = [];
  for (const t of batch) for (const m of t.messages) lines.push(recordLine(t.topic, m));
  if (lines.length > 0) out.write(lines.join(''));
}

/** A replay's sink: nothing goes to Kafka, every record is printed. */
export function jsonLinesSink(topics: OutputTopics, out: Writable): OutputSink {
  return {
    publish: async (o: BatchOutputs) => writeRecords(out, topicMessages(o, topics)),
    close: async () => {},
  };
}

/** A Kafka sink that also prints each delivery's records once the brokers have them. */
export function printingSink(sink: OutputSink, topics: OutputTopics, out: Writable): OutputSink {
  return {
    publish: async (o) => {
      await sink.publish(o);
      writeRecords(out, topicMessages(o, topics));
    },
    close: () => sink.close(),
  };
}

/** The same for exactly-once: printed once the transaction is committed. */
export function printingPublisher(atomic: AtomicPublisher, topics: OutputTopics, out: Writable): AtomicPublisher {
  return {
    publish: async (o: BatchOutputs, messages: readonly SourceMessage[]) => {
      await atomic.publish(o, messages);
      writeRecords(out, topicMessages(o, topics));
    },
    close: () => atomic.close(),
  };
}
