#!/usr/bin/env node
// Thin launcher: the CLI lives in src/cli (compiled to dist/ by `npm run build`, which
// `npm ci` runs through the prepare script). Exiting explicitly means a client library
// that leaves a socket open cannot keep a finished command alive.
import { run } from '../dist/src/cli/main.js';

process.exit(await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }));
