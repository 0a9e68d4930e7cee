#!/usr/bin/env bash
# The default replay's published records (`run --json`), every verdict and frame-ood event
# included, with the fields that come from the clock removed (ce_time, ts, scoredAt,
# capturedAt, startedAt, and evidenceUrl: the port is any free one and the episode id a
# digest of startedAt) and the lines sorted: a refactor must leave this output
# byte-identical. Run in a built checkout (`npm run build`):  scripts/replay-records.sh | sha256sum
set -euo pipefail
GAIA_KAFKA_SCORES_TOPIC=gaia.scores GAIA_KAFKA_FRAME_OOD_ON_ALERTS=true GAIA_TELEMETRY_PORT=0 node bin/gaia-sentinel.js run --json 2>/dev/null |
  node -e '
    const lines = require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean).map((line) => {
      const r = JSON.parse(line);
      delete r.headers.ce_time;
      for (const k of ["ts", "scoredAt", "capturedAt", "startedAt", "evidenceUrl"]) delete r.value[k];
      return JSON.stringify(r);
    });
    process.stdout.write(lines.sort().join("\n") + "\n");
  '
