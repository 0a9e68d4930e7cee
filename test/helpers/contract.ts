/**
 * The output contract as the tests hold the agent to it: every record they read is checked
 * against the JSON Schemas in schemas/ (docs/EVENTS.md), and every event record is parsed
 * back with the CloudEvents SDK's Kafka binding. The published schemas are open (a consumer
 * must accept fields added later); here they are closed, so a field the agent emits but
 * the schemas do not declare fails the test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { CloudEvent, Kafka, type KafkaMessage as CloudEventsKafkaMessage } from 'cloudevents';
import type { KafkaMessage } from 'kafkajs';
import { dataSchema, EVENT_TYPES, type EventKind } from '../../src/contracts/cloud-events.js';

const SCHEMAS = join(import.meta.dirname, '..', '..', 'schemas');

export type RecordKind = 'event' | 'verdict' | 'dead-letter' | 'drift-window' | 'frame';

/** Every object schema that does not say otherwise rejects undeclared properties. */
function closed(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closed);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = k === 'properties' || k === '$defs' ? Object.fromEntries(Object.entries(v as object).map(([n, s]) => [n, closed(s)])) : closed(v);
  if ('properties' in out && !('additionalProperties' in out)) out.additionalProperties = false;
  return out;
}

export function loadSchemas(strict = true): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  for (const file of readdirSync(SCHEMAS).filter((f) => f.endsWith('.json'))) {
    const schema = JSON.parse(readFileSync(join(SCHEMAS, file), 'utf8')) as object;
    ajv.addSchema(strict ? (closed(schema) as object) : schema);
  }
  return ajv;
}

const ajv = loadSchemas();

function validator(kind: string): ValidateFunction {
  const v = ajv.getSchema(`urn:gaia-sentinel:schema:${kind}:v1`);
  if (!v) throw new Error(`no schema urn:gaia-sentinel:schema:${kind}:v1 in schemas/`);
  return v;
}

/** Throws naming the record and every violation. */
export function assertValid(kind: string, data: unknown, what: string): void {
  const v = validator(kind);
  if (!v(data)) throw new Error(`${what} violates schemas/${kind}.v1.json: ${ajv.errorsText(v.errors, { separator: '; ' })}\n${JSON.stringify(data).slice(0, 2000)}`);
}

const text = (v: Buffer | string | undefined) => (v === undefined ? undefined : v.toString());

/** A record's headers as text (kafkajs hands out Buffers; a repeated header keeps its last value). */
export function headerTexts(m: Pick<KafkaMessage, 'headers'>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(m.headers ?? {})) {
    const last = Array.isArray(v) ? v[v.length - 1] : v;
    const t = text(last as Buffer | string | undefined);
    if (t !== undefined) out[name] = t;
  }
  return out;
}

/** Checks an event or verdict record: CloudEvents headers, key = subject, data against ce_dataschema; returns the CloudEvent. */
export function assertCloudEvent(m: { key: Buffer | string | null; value: Buffer | string | null; headers?: KafkaMessage['headers'] }, where: string): CloudEvent<unknown> {
  const headers = headerTexts(m);
  assertValid('cloudevent-headers', headers, `${where}: headers`);
  const key = text(m.key ?? undefined);
  if (key !== headers.ce_subject) throw new Error(`${where}: key ${JSON.stringify(key)} is not ce_subject ${JSON.stringify(headers.ce_subject)}`);
  const data = JSON.parse(text(m.value ?? undefined) ?? 'null') as unknown;
  // The type names its schema, and the data's own type name matches (verdicts have none).
  const kind = (Object.keys(EVENT_TYPES) as EventKind[]).find((k) => EVENT_TYPES[k] === headers.ce_type)!;
  if (headers.ce_dataschema !== dataSchema(kind)) throw new Error(`${where}: ce_type ${headers.ce_type} with ce_dataschema ${headers.ce_dataschema}`);
  assertValid(kind, data, `${where}: ${headers.ce_type} data`);
  if (kind !== 'frame-scored' && (data as { type?: string }).type !== kind) throw new Error(`${where}: data.type ${(data as { type?: string }).type} under ce_type ${headers.ce_type}`);
  // An SDK consumer reads it as a valid CloudEvent 1.0.
  const value = text(m.value ?? undefined) ?? '';
  const message: CloudEventsKafkaMessage<string> = { key: key ?? '', value, body: value, headers };
  const event = Kafka.toEvent(message) as CloudEvent<unknown>;
  event.validate();
  return event;
}

/** Checks one record read from an output topic of this kind. */
export function assertRecord(kind: RecordKind, m: KafkaMessage, where: string): void {
  switch (kind) {
    case 'event':
    case 'verdict': {
      const e = assertCloudEvent(m, where);
      const isVerdict = e.type === 'io.gaia-sentinel.frame.scored.v1';
      if (isVerdict !== (kind === 'verdict')) throw new Error(`${where}: ${e.type} on a ${kind} topic`);
      return;
    }
    case 'dead-letter':
      assertValid('dead-letter-headers', headerTexts(m), `${where}: dead-letter headers`);
      return;
    case 'frame':
      assertValid('frame-input', { key: m.key?.toString() ?? null, headers: headerTexts(m) }, `${where}: frame`);
      return;
    case 'drift-window':
      if (m.value !== null) assertValid('drift-window', JSON.parse(m.value.toString()), `${where}: drift window`);
      return;
  }
}

/** What a test topic holds, from its name (agentTopics / uniqueName), or undefined if it is none of the contract's topics. */
export function kindOfTopic(topic: string): RecordKind | undefined {
  if (/^gaia-test-[a-z0-9-]*alerts-/.test(topic)) return 'event';
  if (/^gaia-test-[a-z0-9-]*scores-/.test(topic)) return 'verdict';
  if (/^gaia-test-[a-z0-9-]*dlq-/.test(topic)) return 'dead-letter';
  if (/^gaia-test-[a-z0-9-]*changelog-/.test(topic)) return 'drift-window';
  // Input topics, for tests of what producers send (gaia-sentinel produce).
  if (/^gaia-test-[a-z0-9-]*frames-/.test(topic)) return 'frame';
  return undefined;
}
