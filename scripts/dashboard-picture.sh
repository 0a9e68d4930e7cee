#!/usr/bin/env bash
# Makes docs/img/dashboard.png from real data: a replay agent (ID frames, then OOD, then ID
# again) scraped by a real Prometheus for ~100 s; the dashboard's own queries rendered by
# `gaia-sentinel dashboard-snapshot`; a screenshot by headless Chromium (Debian's).
# Needs: prometheus, chromium (apt-get install -y prometheus chromium), npm run build.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
S=models/fmnist-cnn/samples
port=19464; pport=19090
GAIA_TELEMETRY_PORT=$port GAIA_REPLAY_FPS=20 GAIA_DRIFT_WINDOW=50 GAIA_EXECUTION_PROVIDERS=cpu GAIA_LOG_LEVEL=warn \
  GAIA_REPLAY_DIRS="$S/id*3,$S/ood*2,$S/id*3" node bin/gaia-sentinel.js run >"$work/agent.out" 2>&1 &
cat >"$work/prometheus.yml" <<CFG
global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: gaia-sentinel
    static_configs: [{ targets: ["127.0.0.1:$port"] }]
CFG
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" --web.listen-address="127.0.0.1:$pport" >"$work/prom.log" 2>&1 &
seconds=${SECONDS_OF_DATA:-150}
echo "collecting $seconds s of data..."
sleep "$seconds"
node bin/gaia-sentinel.js dashboard-snapshot --prometheus "http://127.0.0.1:$pport" --out "$work/dashboard.html" --minutes 3
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$work/chrome" --hide-scrollbars \
  --window-size=1220,1800 --screenshot="$PWD/docs/img/dashboard.png" "file://$work/dashboard.html" 2>/dev/null
echo "wrote docs/img/dashboard.png"
