#!/usr/bin/env bash
# Makes docs/img/evidence.png: the default replay (clothes, digits, clothes) through the real
# pipeline, scorer, judging and evidence wiring, the episode's /evidence page opened in
# headless Chromium (Debian's) and saved as a screenshot. The overlays come from a saliency
# stand-in the test computes from each frame until the compiler's saliency head is wired
# (test/telemetry/evidence-browser.test.ts says which). Needs: chromium (apt-get install chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromium >/dev/null || { echo "chromium is not installed (apt-get install chromium)"; exit 1; }
EVIDENCE_SCREENSHOT=docs/img/evidence.png npx vitest run test/telemetry/evidence-browser.test.ts -t overlay
echo "wrote docs/img/evidence.png"
