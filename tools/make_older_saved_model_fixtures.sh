#!/usr/bin/env bash
# Golden SavedModels from OLDER tf.keras (tests/fixtures/saved_models/*_tf2_4, *_tf2_9, *_tf2_12,
# *_tf2_15): each TF in a throwaway venv under /tmp (not CI: the fixtures are committed). TF 2.4
# needs Python <= 3.8 and TF 2.9 Python <= 3.10 (pyenv's 3.8 and 3.10 on this machine; set
# PYTHON38 / PYTHON310 elsewhere); TF 2.12 and newer run on Python 3.11. Run from the repository
# root:
#     bash tools/make_older_saved_model_fixtures.sh
set -euo pipefail
PY38=${PYTHON38:-$HOME/.pyenv/versions/3.8.18/bin/python}
PY310=${PYTHON310:-$HOME/.pyenv/versions/3.10.13/bin/python}
PY311=${PYTHON311:-python3.11}
# version|python|packages (TF 2.9 was built against numpy 1.x and protobuf 3)
for spec in "2.4|$PY38|tensorflow-cpu==2.4.*" \
            "2.9|$PY310|tensorflow-cpu==2.9.* numpy<1.24 protobuf<3.20" \
            "2.12|$PY311|tensorflow-cpu==2.12.*" \
            "2.15|$PY311|tensorflow-cpu==2.15.* tf-keras==2.15.*"; do
  IFS='|' read -r version python packages <<< "$spec"
  venv=/tmp/savepoint-tf${version/./}
  if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
    "$venv/bin/pip" install -q $packages
  fi
  TF_USE_LEGACY_KERAS=1 "$venv/bin/python" tools/make_saved_model_fixtures.py --older
done
