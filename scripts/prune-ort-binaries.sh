#!/bin/sh
# Keeps only onnxruntime-node's linux-x64 native binaries (it ships ~245 MB for darwin,
# win32 and linux-arm64 too). Usage: scripts/prune-ort-binaries.sh <node_modules dir>
set -eu
bin="${1:?node_modules dir}/onnxruntime-node/bin"
[ -d "$bin" ] || { echo "prune-ort-binaries: no $bin" >&2; exit 1; }
for dir in "$bin"/napi-v*/*; do
  case "$dir" in
    */linux) for arch in "$dir"/*; do [ "${arch##*/}" = x64 ] || rm -rf "$arch"; done ;;
    *) rm -rf "$dir" ;;
  esac
done
[ -e "$bin"/napi-v*/linux/x64/onnxruntime_binding.node ] || { echo "prune-ort-binaries: the linux-x64 binding is missing after pruning" >&2; exit 1; }
