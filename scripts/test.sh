#!/usr/bin/env bash
# Run the whole test suite (unit, integration, end-to-end with the real dagster CLI).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m pytest "$@"
