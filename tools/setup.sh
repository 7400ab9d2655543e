#!/usr/bin/env bash
# Create .venv with savepoint (editable), the CPU build of torch, the test dependencies and the
# optional extras the tests exercise (image: Pillow and scipy; export: onnx; serve: uvicorn;
# remote: fsspec, s3fs, and moto
# for the loopback S3 server).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c "import torch, savepoint, pytest, hypothesis, safetensors, PIL, scipy, fsspec, s3fs, moto.server, onnx, onnxscript, flatbuffers, onnxruntime, uvicorn, starlette, httptools, orjson, httpx" 2>/dev/null; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q "torch==2.13.0"
  .venv/bin/pip install -q -e ".[test,image,export,serve]"
fi
