/** Every error code the code can raise is documented for users (docs/ERRORS.md). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';

it('documents every error code in docs/ERRORS.md', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'ERRORS.md'), 'utf8');
  for (const code of Object.values(ErrorCodes)) expect(doc, code).toContain(`\`${code}\``);
});
