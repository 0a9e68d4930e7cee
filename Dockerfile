# gaia-sentinel images.
#   CPU: docker build --target cpu -t gaia-sentinel:cpu .
#   GPU: docker build --target gpu -t gaia-sentinel:gpu .   (run with --gpus all)
# The CPU build skips onnxruntime-node's CUDA download (.npmrc); the GPU build enables it
# (ONNXRUNTIME_NODE_INSTALL=cuda12), so that image needs network access to NuGet at build time.

FROM node:20-bookworm-slim AS build-cpu
WORKDIR /app
COPY . .
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim AS build-gpu
WORKDIR /app
COPY . .
RUN ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim AS cpu
WORKDIR /app
COPY --from=build-cpu /app /app
ENV GAIA_EXECUTION_PROVIDERS=cpu GAIA_TELEMETRY_HOST=0.0.0.0
EXPOSE 9464
USER node
ENTRYPOINT ["node", "bin/gaia-sentinel.js"]
CMD ["run"]

# CUDA 12 + cuDNN 9 runtime, as onnxruntime-node 1.30's CUDA provider expects.
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 AS gpu
COPY --from=node:20-bookworm-slim /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=build-gpu /app /app
ENV GAIA_EXECUTION_PROVIDERS=cuda,cpu GAIA_TELEMETRY_HOST=0.0.0.0
EXPOSE 9464
ENTRYPOINT ["node", "bin/gaia-sentinel.js"]
CMD ["run"]
