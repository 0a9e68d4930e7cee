#!/usr/bin/env bash
# The scoring-graph benchmark of docs/BENCHMARKS.md, in one run: the compiled GAIA-Z
# scoring graph vs the plain classifier in onnxruntime-node, and vs the PyTorch reference
# (hooks + autograd) on the same ResNet-18, threads and batches. Needs Debian's
# python3-torch for the reference model and timings (offline tooling, not the product).
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
BATCHES=${BATCHES:-1,32,128}
mkdir -p bench/.cache
[ -f bench/.cache/resnet18.onnx ] || /usr/bin/python3 bench/export_bench_model.py --out bench/.cache/resnet18.onnx
npm run build --silent
/usr/bin/python3 bench/torch_reference.py --threads "$THREADS" --batches "$BATCHES" --repeats 7 --json bench/.cache/torch.json
node dist/bench/scoring.js --model bench/.cache/resnet18.onnx --threads "$THREADS" --batches "$BATCHES" \
  --seconds 20 --min-runs 12 --torch-json bench/.cache/torch.json --json bench/.cache/scoring.json
