#!/usr/bin/env bash
# Builds the CPU image with the repository's Dockerfile, unchanged, on the local engine:
# the stand-in base image first (scripts/image/base.sh, cached), then `--target cpu`.
#   scripts/image/build.sh [tag]      # default gaia-sentinel:cpu
# The classic builder (DOCKER_BUILDKIT=0): it needs no buildx plugin and pulls nothing for the
# Dockerfile's `# syntax` line (Docker Hub is unreachable here). Host networking: npm ci in
# the image reaches the npm registry the way this machine does.
# Prints the seconds each part took and the image's size.
set -euo pipefail
cd "$(dirname "$0")/../.."
TAG="${1:-gaia-sentinel:cpu}"
SUDO=; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO=sudo
t0=$(date +%s)
scripts/image/base.sh >/dev/null
t1=$(date +%s)
DOCKER_BUILDKIT=0 $SUDO docker build --network host --target cpu -t "$TAG" . >&2
t2=$(date +%s)
size=$($SUDO docker image inspect --format '{{.Size}}' "$TAG")
echo "image $TAG: base $((t1 - t0)) s, build $((t2 - t1)) s, size $((size / 1000000)) MB"
