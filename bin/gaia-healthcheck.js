#!/usr/bin/env node
// The container HEALTHCHECK: exit 0 when the agent's /healthz answers 200, 1 otherwise.
// No curl in the image, and no import of the agent (a health probe must stay cheap): Node's
// own fetch against the port the agent listens on (GAIA_TELEMETRY_PORT, default 9464).
const port = process.env.GAIA_TELEMETRY_PORT || '9464';
const timeout = AbortSignal.timeout(Number(process.env.GAIA_HEALTHCHECK_TIMEOUT_MS || 3000));
try {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: timeout });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
