#!/usr/bin/env bash
# The README's test command: set up .venv (and the interop venvs) if needed, then run pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
if [ -f tools/setup_interop_venvs.sh ] && [ "${SAVEPOINT_SKIP_INTEROP:-0}" != "1" ]; then
  bash tools/setup_interop_venvs.sh
fi
exec .venv/bin/python -m pytest tests "$@"
