# syntax=docker/dockerfile:1
# gaia-sentinel images, two targets:
#   CPU: docker build --target cpu -t gaia-sentinel:cpu .
#   GPU: docker build --target gpu -t gaia-sentinel:gpu .   (run with --gpus all)
# Your own model: mount its package read-only and point GAIA_MODEL_DIR at it, e.g.
#   docker run -v "$PWD/my-model:/models/my-model:ro" -e GAIA_MODEL_DIR=/models/my-model ...
# The layers that install dependencies see only the package files, so editing the sources
# rebuilds from the TypeScript compile on, not from npm ci (nor, on GPU, the CUDA download).
# The CPU install skips onnxruntime-node's CUDA download (package.json's allowScripts denies
# its install script, which only fetches the CUDA provider); the GPU install runs that script
# itself (ONNXRUNTIME_NODE_INSTALL=1), so that build needs network access to NuGet.
# The CPU stages come first: the classic builder (DOCKER_BUILDKIT=0) builds every stage up to
# the target, so `--target cpu` never touches the GPU stages.
# What was and was not verified: docs/DEPLOY.md ("The images").

ARG NODE_VERSION=24
# CUDA 13: what onnxruntime-node 1.30's CUDA provider (NuGet Microsoft.ML.OnnxRuntime.Gpu.Linux
# 1.30.0) is built for; ONNX Runtime's default GPU builds moved from CUDA 12 to 13 in 1.27
# (docs/DEPLOY.md cites the sources). A CUDA 12 base would make every agent fall back to the CPU.
ARG CUDA_IMAGE=nvidia/cuda:13.0.2-cudnn-runtime-ubuntu24.04

# --- dependencies (package files only) ---------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS deps-cpu
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the package's own prepare script compiles sources not copied yet; the
# dependencies with an install step get it from rebuild: sharp's, and onnxruntime-node's is
# denied (the env var skips its download where an older npm runs it anyway).
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --ignore-scripts --no-audit --no-fund \
 && ONNXRUNTIME_NODE_INSTALL=skip npm rebuild sharp onnxruntime-node

# --- compile, then keep only what runs ---------------------------------------------------
FROM deps-cpu AS build
COPY tsconfig.json ./
COPY scripts/copy-assets.mjs scripts/prune-ort-binaries.sh scripts/
COPY src src
RUN npx tsc -p tsconfig.json && node scripts/copy-assets.mjs

FROM build AS runtime-files-cpu
RUN npm prune --omit=dev --ignore-scripts \
 && sh scripts/prune-ort-binaries.sh node_modules

# --- CPU image -----------------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS cpu
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="gaia-sentinel" \
      org.opencontainers.image.description="Out-of-distribution monitor for vision pipelines: GAIA-Z scores from ONNX classifiers, Kafka in, alerts and Prometheus metrics out (CPU)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/gaia-sentinel/gaia-sentinel"
WORKDIR /app
# GAIA_MODEL_DIR: the bundled example (relative to /app) by default; set it to the folder your
# package is mounted on.
ENV NODE_ENV=production GAIA_EXECUTION_PROVIDERS=cpu GAIA_TELEMETRY_HOST=0.0.0.0 GAIA_EVIDENCE_ENABLED=false \
    GAIA_MODEL_DIR=models/fmnist-cnn
COPY --from=runtime-files-cpu /app/node_modules node_modules
COPY --from=runtime-files-cpu /app/dist/src dist/src
COPY package.json LICENSE README.md ./
COPY bin bin
COPY models models
COPY calibration calibration
COPY schemas schemas
# Numeric, so Kubernetes can verify runAsNonRoot (the node user of the base image).
USER 1000:1000
EXPOSE 9464
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["node", "bin/gaia-healthcheck.js"]
ENTRYPOINT ["node", "bin/gaia-sentinel.js"]
CMD ["run"]

# --- GPU: onnxruntime-node's CUDA provider ------------------------------------------------
FROM deps-cpu AS deps-gpu
# Run directly: npm rebuild would skip the install script that allowScripts denies. The script
# reads only skip / 1 / true / ON (any other value, such as cuda12, counts as unset).
RUN ONNXRUNTIME_NODE_INSTALL=1 node node_modules/onnxruntime-node/script/install

FROM deps-gpu AS runtime-files-gpu
COPY --from=build /app/dist dist
COPY scripts/prune-ort-binaries.sh scripts/
RUN npm prune --omit=dev --ignore-scripts \
 && sh scripts/prune-ort-binaries.sh node_modules

# --- GPU image: the CUDA 13 / cuDNN 9 runtime onnxruntime-node 1.30's CUDA provider links ----
FROM ${CUDA_IMAGE} AS gpu
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="gaia-sentinel" \
      org.opencontainers.image.description="Out-of-distribution monitor for vision pipelines: GAIA-Z scores from ONNX classifiers, Kafka in, alerts and Prometheus metrics out (CUDA)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/gaia-sentinel/gaia-sentinel"
COPY --from=deps-cpu /usr/local/bin/node /usr/local/bin/node
RUN groupadd --system --gid 10001 gaia && useradd --system --uid 10001 --gid gaia --home-dir /app --shell /usr/sbin/nologin gaia
WORKDIR /app
ENV NODE_ENV=production GAIA_EXECUTION_PROVIDERS=cuda,cpu GAIA_TELEMETRY_HOST=0.0.0.0 GAIA_EVIDENCE_ENABLED=false \
    GAIA_MODEL_DIR=models/fmnist-cnn
COPY --from=runtime-files-gpu /app/node_modules node_modules
COPY --from=runtime-files-gpu /app/dist/src dist/src
# The build fails here, not on a GPU node later, when the base lacks a library the CUDA
# provider links (a CUDA major version other than the provider's, or no cuDNN).
COPY scripts/image/check-cuda-provider.sh scripts/image/
RUN sh scripts/image/check-cuda-provider.sh node_modules/onnxruntime-node/bin/napi-v6/linux/x64
COPY package.json LICENSE README.md ./
COPY bin bin
COPY models models
COPY calibration calibration
COPY schemas schemas
USER 10001:10001
EXPOSE 9464
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 CMD ["node", "bin/gaia-healthcheck.js"]
ENTRYPOINT ["node", "bin/gaia-sentinel.js"]
CMD ["run"]
