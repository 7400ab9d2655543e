#!/usr/bin/env bash
# Create the interop virtual environments used by the golden-fixture tools and the
# live interop tests (tests/interop/). Idempotent: returns in about a second when the
# venv already has the pinned versions.
#
#   .venvs/tf     : tensorflow-cpu + tf-keras (Keras 2 API; run with TF_USE_LEGACY_KERAS=1)
#   .venvs/keras3 : Keras 3 on the CPU build of torch (run with KERAS_BACKEND=torch)
#   .venvs/tfjs   : @tensorflow/tfjs for node (npm ci from tools/tfjs/package-lock.json)
#   .venvs/litert : the LiteRT (TFLite) interpreter, ai-edge-litert (numpy only, no TensorFlow)
#
# Usage: bash tools/setup_interop_venvs.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TF_VERSION="${SAVEPOINT_TF_VERSION:-2.21.0}"
TF_KERAS_VERSION="${SAVEPOINT_TF_KERAS_VERSION:-2.21.0}"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venvs/tf"
STAMP="$VENV/.savepoint-stamp"
WANT="tensorflow-cpu==$TF_VERSION tf-keras==$TF_KERAS_VERSION"

setup_keras3() {
  # Keras 3 on torch; torch pinned to the CPU build (never a CUDA wheel).
  local venv="$ROOT/.venvs/keras3"
  local want="torch==${SAVEPOINT_K3_TORCH_VERSION:-2.13.0} keras==${SAVEPOINT_KERAS3_VERSION:-3.15.1}"
  if [[ -f "$venv/.savepoint-stamp" && "$(cat "$venv/.savepoint-stamp")" == "$want" \
        && -x "$venv/bin/python" ]]; then
    echo "[setup_interop_venvs] $venv is up to date ($want)"
    return 0
  fi
  echo "[setup_interop_venvs] creating $venv with $want"
  mkdir -p "$ROOT/.venvs"
  [[ -x "$venv/bin/python" ]] || "$PYTHON" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet $want
  KERAS_BACKEND=torch "$venv/bin/python" -c "import torch, keras
assert torch.version.cuda is None, 'expected a CPU build of torch, got CUDA ' + str(torch.version.cuda)
print('[setup_interop_venvs] torch', torch.__version__, 'keras', keras.__version__)"
  echo "$want" > "$venv/.savepoint-stamp"
}

setup_tb_extra() {
  # TensorBoard's own reader (EventAccumulator) for the TensorBoard interop test, installed
  # without its dependencies beside the TF venv (which supplies numpy and protobuf).
  local target="$ROOT/.venvs/tb-extra" want="tensorboard==${SAVEPOINT_TB_VERSION:-2.21.0}"
  if [[ -f "$target/.savepoint-stamp" && "$(cat "$target/.savepoint-stamp")" == "$want" ]]; then
    echo "[setup_interop_venvs] $target is up to date ($want)"
    return 0
  fi
  echo "[setup_interop_venvs] installing $want into $target"
  "$VENV/bin/python" -m pip install --quiet --no-deps --target "$target" "$want"
  echo "$want" > "$target/.savepoint-stamp"
}

setup_litert() {
  # The real LiteRT interpreter for tests/interop/test_litert_interop.py; it needs numpy only.
  local venv="$ROOT/.venvs/litert" want="ai-edge-litert==${SAVEPOINT_LITERT_VERSION:-2.3.0}"
  if [[ -f "$venv/.savepoint-stamp" && "$(cat "$venv/.savepoint-stamp")" == "$want" \
        && -x "$venv/bin/python" ]]; then
    echo "[setup_interop_venvs] $venv is up to date ($want)"
    return 0
  fi
  echo "[setup_interop_venvs] creating $venv with $want"
  mkdir -p "$ROOT/.venvs"
  [[ -x "$venv/bin/python" ]] || "$PYTHON" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet "$want"
  "$venv/bin/python" -c "from ai_edge_litert.interpreter import Interpreter; import numpy
import importlib.util as u; assert u.find_spec('tensorflow') is None, 'expected no TensorFlow'
print('[setup_interop_venvs] ai-edge-litert with numpy', numpy.__version__)"
  echo "$want" > "$venv/.savepoint-stamp"
}

setup_tfjs() {
  # The real TensorFlow.js (tools/tfjs/package-lock.json, plain @tensorflow/tfjs on its CPU
  # backend) for tests/interop/test_tfjs_interop.py, installed with npm ci into .venvs/tfjs.
  local target="$ROOT/.venvs/tfjs" lock="$ROOT/tools/tfjs/package-lock.json" want
  want="$(sha256sum "$lock" | cut -d' ' -f1)"
  if [[ -f "$target/.savepoint-stamp" && "$(cat "$target/.savepoint-stamp")" == "$want" \
        && -d "$target/node_modules/@tensorflow/tfjs" ]]; then
    echo "[setup_interop_venvs] $target is up to date (@tensorflow/tfjs, lock ${want:0:12})"
    return 0
  fi
  echo "[setup_interop_venvs] npm ci @tensorflow/tfjs into $target"
  mkdir -p "$target"
  cp "$ROOT/tools/tfjs/package.json" "$lock" "$target/"
  (cd "$target" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$want" > "$target/.savepoint-stamp"
}

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -x "$VENV/bin/python" ]]; then
  echo "[setup_interop_venvs] $VENV is up to date ($WANT)"
  setup_keras3
  setup_tb_extra
  setup_tfjs
  setup_litert
  exit 0
fi

echo "[setup_interop_venvs] creating $VENV with $WANT"
mkdir -p "$ROOT/.venvs"
if [[ ! -x "$VENV/bin/python" ]]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet $WANT
TF_USE_LEGACY_KERAS=1 "$VENV/bin/python" -c \
  "import tensorflow as tf, tf_keras; print('[setup_interop_venvs] tensorflow', tf.__version__, 'tf_keras', tf_keras.__version__)"
echo "$WANT" > "$STAMP"
setup_keras3
setup_tb_extra
setup_tfjs
setup_litert
