#!/usr/bin/env bash
# The README's main-job command: set up .venv if needed, then run the tutorial flow offline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
exec .venv/bin/savepoint demo "$@"
