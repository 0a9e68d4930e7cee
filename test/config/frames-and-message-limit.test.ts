/**
 * frames.damaged (what a damaged frame becomes) and the least kafka.maxMessageBytes: a limit
 * below the largest record the agent sends without a frame's bytes is refused at startup.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { MIN_MESSAGE_BYTES } from '../../src/config/schema-source.js';
import { verdictEnvelope } from '../../src/contracts/event-envelope.js';
import type { DeadLetter, VerdictRecord } from '../../src/contracts/events.js';
import { ErrorCodes, GaiaError } from '../../src/errors.js';
import { deadLetterMessage, recordBytes } from '../../src/stream/kafka/records.js';

/** Kafka's record batch header, as records.ts over-estimates it. */
const BATCH_OVERHEAD = 128;

function loadError(env: NodeJS.ProcessEnv): GaiaError {
  try {
    loadConfig({ env });
  } catch (err) {
    expect(err).toBeInstanceOf(GaiaError);
    return err as GaiaError;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

describe('frames.damaged', () => {
  it('dead-letters damaged frames by default; GAIA_FRAME_DAMAGED=score scores them', () => {
    expect(loadConfig({ env: {} }).frames.damaged).toBe('dead-letter');
    expect(loadConfig({ env: { GAIA_FRAME_DAMAGED: 'score' } }).frames.damaged).toBe('score');
  });

  it('refuses any other value, naming the key and its env var', () => {
    const err = loadError({ GAIA_FRAME_DAMAGED: 'drop' });
    expect(err.code).toBe(ErrorCodes.BAD_CONFIG);
    expect(err.message).toContain('frames.damaged');
    expect(err.message).toContain('GAIA_FRAME_DAMAGED');
    expect(err.message).toContain('"drop"');
  });
});

describe('kafka.maxMessageBytes', () => {
  it.each(['10', String(MIN_MESSAGE_BYTES - 1)])('refuses GAIA_KAFKA_MAX_MESSAGE_BYTES=%s, naming the key, the minimum and why', (value) => {
    const err = loadError({ GAIA_KAFKA_MAX_MESSAGE_BYTES: value });
    expect(err.code).toBe(ErrorCodes.BAD_CONFIG);
    expect(err.message).toContain('kafka.maxMessageBytes');
    expect(err.message).toContain('GAIA_KAFKA_MAX_MESSAGE_BYTES');
    expect(err.message).toContain(`(${value},`);
    expect(err.message).toContain(`at least ${MIN_MESSAGE_BYTES}`);
    expect(err.message).toContain('stall its partition');
  });

  it('accepts the minimum itself, and Kafka\'s default', () => {
    expect(loadConfig({ env: { GAIA_KAFKA_MAX_MESSAGE_BYTES: String(MIN_MESSAGE_BYTES) } }).kafka.maxMessageBytes).toBe(MIN_MESSAGE_BYTES);
    expect(loadConfig({ env: {} }).kafka.maxMessageBytes).toBe(1_048_588);
  });

  it('is enough for the largest dead letter without its frame: a 1 KiB key and a 1024-character message of 3-byte characters', () => {
    const letter: DeadLetter = {
      topic: 't'.repeat(249), // Kafka's longest topic name
      partition: 2 ** 31 - 1,
      offset: String(2n ** 63n - 1n),
      key: 'k'.repeat(1024),
      frameId: 'f'.repeat(256),
      value: new Uint8Array(1 << 20),
      headers: { 'content-type': 'x'.repeat(100_000) }, // original headers too large: digested
      reason: 'unsupported-content-type',
      message: '€'.repeat(5000),
    };
    const record = deadLetterMessage(letter, MIN_MESSAGE_BYTES);
    expect(record.value).toBeNull();
    expect(recordBytes(record) + BATCH_OVERHEAD).toBeLessThanOrEqual(MIN_MESSAGE_BYTES);
  });

  it('is enough for a verdict with the longest source and frame ids', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'EVENTS.md'), 'utf8');
    const example = JSON.parse(/<!-- example: frame-scored -->\n```json\n(.+)\n```/.exec(doc)![1]!) as VerdictRecord;
    const verdict: VerdictRecord = { ...example, topic: 't'.repeat(249), source: 's'.repeat(256), frameId: 'f'.repeat(256), offset: String(2n ** 63n - 1n) };
    const envelope = verdictEnvelope(verdict, '/gaia-sentinel/' + 'm'.repeat(100));
    expect(recordBytes(envelope) + BATCH_OVERHEAD).toBeLessThanOrEqual(MIN_MESSAGE_BYTES / 2);
  });
});
