#!/usr/bin/env bash
# Builds the offline Kubernetes validators the chart tests use, from the Go module proxy:
# helm (lint, template) and tools/k8s-validate (strict decoding into the official API types).
# Idempotent: a tool already built at the pinned version is kept.
#   scripts/build-k8s-tools.sh            → binaries in $GAIA_TOOLS_BIN (default ~/.cache/gaia-sentinel/tools/bin)
set -euo pipefail
cd "$(dirname "$0")/.."
HELM_VERSION=v3.22.0
BIN="${GAIA_TOOLS_BIN:-${HOME:-/tmp}/.cache/gaia-sentinel/tools/bin}"
mkdir -p "$BIN"
command -v go >/dev/null || { echo "build-k8s-tools: Go is needed (https://go.dev/dl, or Debian golang-go)" >&2; exit 1; }

# (A helm built by go install reports no patch version itself; the module version is in the binary.)
if ! go version -m "$BIN/helm" 2>/dev/null | grep -qE "^\s+mod\s+helm.sh/helm/v3\s+$HELM_VERSION(\s|$)"; then
  echo "== building helm $HELM_VERSION from the Go module proxy (a few minutes)"
  GOBIN="$BIN" GOFLAGS=-mod=mod go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
fi
# Rebuilt when its sources are newer than the binary.
if [ ! -x "$BIN/k8s-validate" ] || [ -n "$(find tools/k8s-validate -newer "$BIN/k8s-validate" -type f 2>/dev/null)" ]; then
  echo "== building tools/k8s-validate"
  (cd tools/k8s-validate && go build -o "$BIN/k8s-validate" .)
fi
echo "$BIN"
