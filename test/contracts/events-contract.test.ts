/**
 * The event contract without a broker: the schemas are valid draft 2020-12 and name every
 * type the agent publishes, docs/EVENTS.md's examples satisfy them, ids are derived from the
 * input only, calibration-changed is built as documented, and `run --json` lines carry
 * exactly the records (bytes that are not text as base64).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CalibrationFile } from '../../src/calibration/calibration-file.js';
import { calibrationRef } from '../../src/calibration/calibration-identity.js';
import { calibrationChanged } from '../../src/judging/events.js';
import { dataSchema, EVENT_TYPES, eventId, type EventKind } from '../../src/contracts/cloud-events.js';
import { eventEnvelope } from '../../src/contracts/event-envelope.js';
import type { DeadLetter } from '../../src/contracts/events.js';
import { recordLine } from '../../src/stream/kafka/json-lines.js';
import { deadLetterMessage, topicMessages } from '../../src/stream/kafka/records.js';
import { assertCloudEvent, assertValid, loadSchemas } from '../helpers/contract.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SCHEMAS = join(ROOT, 'schemas');
const topics = { alertsTopic: 'gaia.alerts', scoresTopic: '', dlqTopic: 'gaia.frames.dlq', maxMessageBytes: 1 << 20, eventSource: '/gaia-sentinel/group-a' };

/** The committed calibration, recalibrated at `createdAt` (another threshold of its verdict rule, same model). */
function calibration(createdAt: string, threshold: number): CalibrationFile {
  const c = JSON.parse(readFileSync(join(ROOT, 'calibration', 'fmnist-cnn.json'), 'utf8')) as CalibrationFile;
  return { ...c, createdAt, verdict: { ...c.verdict!, threshold } };
}

describe('schemas/', () => {
  it('holds a valid draft 2020-12 schema per file, named by its $id, for every event type', () => {
    const files = readdirSync(SCHEMAS).filter((f) => f.endsWith('.json'));
    for (const f of files) {
      const schema = JSON.parse(readFileSync(join(SCHEMAS, f), 'utf8')) as { $schema: string; $id: string };
      expect(schema.$schema, f).toBe('https://json-schema.org/draft/2020-12/schema');
      const [, kind, major] = /^urn:gaia-sentinel:schema:([a-z-]+):v(\d+)$/.exec(schema.$id)!;
      expect(f).toBe(`${kind}.v${major}.json`);
    }
    // Both as published (open to added fields) and as the tests hold the agent to them (closed), in ajv's strict mode.
    for (const strict of [false, true]) {
      const ajv = loadSchemas(strict);
      for (const kind of Object.keys(EVENT_TYPES) as EventKind[]) expect(ajv.getSchema(dataSchema(kind)), kind).toBeDefined();
    }
    const headers = JSON.parse(readFileSync(join(SCHEMAS, 'cloudevent-headers.v1.json'), 'utf8')) as { properties: { ce_type: { enum: string[] } } };
    expect(headers.properties.ce_type.enum.sort()).toEqual(Object.values(EVENT_TYPES).sort());
  });

  it("validates every example in docs/EVENTS.md against the schema it is marked with, and the docs name every type", () => {
    const doc = readFileSync(join(ROOT, 'docs', 'EVENTS.md'), 'utf8');
    const examples = [...doc.matchAll(/<!-- example: ([a-z-]+) -->\n```json\n(.+)\n```/g)];
    const kinds = examples.map((m) => m[1]!);
    expect(kinds).toEqual(expect.arrayContaining([...Object.keys(EVENT_TYPES), 'dead-letter-headers', 'frame-input']));
    for (const [, kind, json] of examples) assertValid(kind!, JSON.parse(json!), `docs/EVENTS.md example ${kind}`);
    for (const type of Object.values(EVENT_TYPES)) expect(doc).toContain(type);
  });

  it('rejects a field the schema does not declare (closed in the tests), a wrong type, and a bad input header', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'EVENTS.md'), 'utf8');
    const started = JSON.parse(/<!-- example: drift-started -->\n```json\n(.+)\n```/.exec(doc)![1]!) as Record<string, unknown>;
    expect(() => assertValid('drift-started', { ...started, extra: 1 }, 'extra field')).toThrow(/must NOT have additional properties/);
    expect(() => assertValid('drift-started', { ...started, ts: 1.5 }, 'fractional ts')).toThrow(/ts/);
    expect(() => assertValid('drift-started', { ...started, type: 'drift-resolved' }, 'wrong type')).toThrow(/type/);
    // The published schema accepts an added field (the versioning rule).
    const open = loadSchemas(false).getSchema(dataSchema('drift-started'))!;
    expect(open({ ...started, extra: 1 })).toBe(true);
    expect(() => assertValid('frame-input', { key: 'cam', headers: { 'x-shape': '28x28x5' } }, 'five channels')).toThrow(/x-shape/);
    expect(() => assertValid('frame-input', { key: 'cam', headers: { ts: '2026-12-01' } }, 'ts as a date')).toThrow(/ts/);
    assertValid('frame-input', { key: null, headers: { 'content-type': 'application/octet-stream', 'x-shape': '480x640x3', 'x-dtype': 'uint8' } }, 'raw frame');
  });
});

describe('event ids', () => {
  it('depend on the type and the cause only, with parts kept apart', () => {
    expect(eventId('drift-started', ['t', 0, '42'])).toBe(eventId('drift-started', ['t', 0, '42']));
    expect(eventId('drift-started', ['t', 0, '42'])).not.toBe(eventId('drift-resolved', ['t', 0, '42']));
    expect(eventId('drift-started', ['t', 0, '42'])).not.toBe(eventId('drift-started', ['t', 1, '42']));
    expect(eventId('frame-ood', ['a/b', 'c'])).not.toBe(eventId('frame-ood', ['a', 'b/c']));
    expect(eventId('frame-ood', ['t', 0, '1'])).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('calibration-changed', () => {
  const before = calibration('2026-11-26T19:07:07.632Z', -6.5);
  const after = calibration('2026-12-01T09:30:00.000Z', -6.4);
  const model = { model: 'fmnist-cnn', modelFingerprint: 'a'.repeat(64) };

  it('names the old and the new calibration by content digest, and is a valid CloudEvent keyed by the model', () => {
    const e = calibrationChanged(model, calibrationRef(before), calibrationRef(after), Date.parse('2026-12-01T09:31:00Z'));
    expect(e).toEqual({ type: 'calibration-changed', ...model, previous: calibrationRef(before), current: calibrationRef(after), ts: Date.parse('2026-12-01T09:31:00Z') });
    expect(e.previous!.digest).not.toBe(e.current.digest);
    // Whitespace does not change a calibration's identity: the digest is of its content.
    expect(calibrationRef(JSON.parse(JSON.stringify(before, null, 2)) as CalibrationFile)).toEqual(calibrationRef(before));

    const [alerts] = topicMessages({ events: [e], records: [], letters: [] }, topics);
    expect(alerts!.topic).toBe('gaia.alerts');
    const m = alerts!.messages[0]!;
    const ce = assertCloudEvent({ key: m.key as string, value: m.value as string, headers: m.headers! }, 'calibration-changed');
    expect(ce).toMatchObject({ type: 'io.gaia-sentinel.calibration.changed.v1', source: '/gaia-sentinel/group-a', subject: 'fmnist-cnn', time: '2026-12-01T09:31:00.000Z' });
    // The same change has the same id; a first calibration (previous null) is valid too.
    expect(eventEnvelope(e, topics.eventSource).headers.ce_id).toBe(ce.id);
    const first = calibrationChanged(model, null, calibrationRef(after), e.ts);
    assertCloudEvent({ ...eventEnvelope(first, topics.eventSource) }, 'first calibration');
    expect(eventEnvelope(first, topics.eventSource).headers.ce_id).not.toBe(ce.id);
  });
});

describe('run --json lines', () => {
  it('show each record with its topic, key, headers and value; binary bytes as base64', () => {
    const letter: DeadLetter = {
      topic: 'gaia.frames',
      partition: 1,
      offset: '618',
      key: 'cam',
      original: { key: Buffer.from('cam'), headers: { 'content-type': Buffer.from('image/png'), blob: Buffer.from([0xff, 0xfe, 0x00]) } },
      frameId: 'f-1',
      value: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0xff]),
      headers: { 'content-type': 'image/png' },
      reason: 'undecodable',
      message: 'frame could not be decoded',
    };
    const m = deadLetterMessage(letter, 1 << 20);
    const line = JSON.parse(recordLine('gaia.frames.dlq', m)) as Record<string, Record<string, string>>;
    expect(line).toEqual({
      topic: 'gaia.frames.dlq',
      key: 'cam',
      headers: expect.objectContaining({ 'content-type': 'image/png', 'x-error-reason': 'undecodable', 'x-source-offset': '618' }),
      headersBase64: { blob: Buffer.from([0xff, 0xfe, 0x00]).toString('base64') },
      valueBase64: Buffer.from(letter.value).toString('base64'),
    });
    assertValid('dead-letter-headers', line.headers, 'dlq line headers');

    const e = calibrationChanged({ model: 'fmnist-cnn', modelFingerprint: 'a'.repeat(64) }, null, calibrationRef(calibration('2026-12-01T09:30:00.000Z', -6.45)), 1_796_169_200_000);
    const [alerts] = topicMessages({ events: [e], records: [], letters: [] }, topics);
    const event = JSON.parse(recordLine(alerts!.topic, alerts!.messages[0]!)) as { key: string; headers: Record<string, string>; value: unknown };
    expect(event.value).toEqual(e);
    expect(event.headers.ce_type).toBe('io.gaia-sentinel.calibration.changed.v1');
    assertCloudEvent({ key: event.key, value: JSON.stringify(event.value), headers: event.headers }, 'event line');
  });
});
