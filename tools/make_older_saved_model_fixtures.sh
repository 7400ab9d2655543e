#!/usr/bin/env bash
# Golden SavedModels from OLDER tf.keras (tests/fixtures/saved_models/*_tf2_12, *_tf2_15): each TF
# in a throwaway venv under /tmp (not CI: the fixtures are committed). Python 3.11 allows TF 2.12
# and newer only (2.4-2.11 need Python <= 3.10). Run from the repository root:
#     bash tools/make_older_saved_model_fixtures.sh
set -euo pipefail
PY=${PYTHON311:-python3.11}
for spec in "2.12:tensorflow-cpu==2.12.*" "2.15:tensorflow-cpu==2.15.* tf-keras==2.15.*"; do
  version=${spec%%:*}; packages=${spec#*:}
  venv=/tmp/savepoint-tf${version/./}
  if [ ! -x "$venv/bin/python" ]; then
    "$PY" -m venv "$venv"
    "$venv/bin/pip" install -q $packages
  fi
  TF_USE_LEGACY_KERAS=1 "$venv/bin/python" tools/make_saved_model_fixtures.py --older
done
