#!/bin/sh
# The GPU image's build-time guard: every library onnxruntime-node's CUDA provider links must
# be found in the image, except libcuda.so.1, which the NVIDIA driver brings at run time
# (--gpus all, or the device plugin). A provider built for another CUDA major version than the
# base image's (libcudart.so.13 against a CUDA 12 base) fails here instead of making every
# agent fall back to the CPU on a GPU node.
#   sh scripts/image/check-cuda-provider.sh <onnxruntime-node's bin folder for linux/x64>
set -eu
dir="${1:?usage: check-cuda-provider.sh <folder holding libonnxruntime_providers_cuda.so>}"
lib="$dir/libonnxruntime_providers_cuda.so"
if [ ! -f "$lib" ]; then
  echo "check-cuda-provider: $lib is missing: onnxruntime-node's install script did not fetch the CUDA provider (ONNXRUNTIME_NODE_INSTALL=1, and NuGet reachable at build time)" >&2
  exit 1
fi
missing=$(LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ldd "$lib" | grep 'not found' | grep -v 'libcuda\.so\.1' || true)
if [ -n "$missing" ]; then
  echo "check-cuda-provider: $lib links libraries this image lacks (its base must be the CUDA major version the provider was built for, with cuDNN 9):" >&2
  echo "$missing" >&2
  exit 1
fi
echo "check-cuda-provider: every library of $lib is in the image (libcuda.so.1 comes from the driver)"
