#!/usr/bin/env node
// Thin launcher: the CLI lives in src/cli (compiled to dist/ by `npm run build`, which
// `npm ci` runs through the prepare script). Exiting explicitly means a client library
// that leaves a socket open cannot keep a finished command alive.
//
// kafkajs 2.2.4 arms its request-queue timer with `throttledUntil - Date.now()` while it was
// never throttled (throttledUntil = -1): Node 24 then warns TimeoutNegativeWarning and runs
// the timer after 1 ms, which is what kafkajs meant. Only that warning is dropped here; every
// other one is printed as usual.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (warning, ...rest) => {
  const type = typeof rest[0] === 'string' ? rest[0] : rest[0]?.type ?? (warning instanceof Error ? warning.name : undefined);
  if (type === 'TimeoutNegativeWarning') return;
  emitWarning(warning, ...rest);
};
const { run } = await import('../dist/src/cli/main.js');

process.exit(await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }));
