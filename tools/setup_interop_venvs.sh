#!/usr/bin/env bash
# Create the interop virtual environments used by the golden-fixture tools and the
# live interop tests (tests/interop/). Idempotent: returns in about a second when the
# venv already has the pinned versions.
#
#   .venvs/tf : tensorflow-cpu + tf-keras (Keras 2 API; run with TF_USE_LEGACY_KERAS=1)
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

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -x "$VENV/bin/python" ]]; then
  echo "[setup_interop_venvs] $VENV is up to date ($WANT)"
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
