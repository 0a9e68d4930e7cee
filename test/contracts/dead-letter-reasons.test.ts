/** Every reason a frame can be dead-lettered for is in the DLQ schema and in docs/EVENTS.md. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { FRAME_ERROR_REASONS } from '../../src/frames/preprocess.js';

const ROOT = join(import.meta.dirname, '..', '..');

it('lists every FrameError reason, damaged included, in the dead-letter schema and the docs', () => {
  const schema = JSON.parse(readFileSync(join(ROOT, 'schemas', 'dead-letter-headers.v1.json'), 'utf8')) as { properties: { 'x-error-reason': { enum: string[] } } };
  expect([...schema.properties['x-error-reason'].enum].sort()).toEqual([...FRAME_ERROR_REASONS].sort());
  expect(FRAME_ERROR_REASONS).toContain('damaged');
  const events = readFileSync(join(ROOT, 'docs', 'EVENTS.md'), 'utf8');
  const reasons = /`x-error-reason` is one of ([^(]+)\(/.exec(events.replace(/\n/g, ' '))![1]!;
  for (const r of FRAME_ERROR_REASONS) expect(reasons, r).toContain(`\`${r}\``);
});
