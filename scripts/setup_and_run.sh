#!/usr/bin/env bash
# Set up a virtualenv, install Vigia, and materialize every asset of every configured dataset
# on the embedded defaults (synthetic data, DuckDB file and reports under data/, Dagster home in .dagster_home/).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"
export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/.dagster_home}"
.venv/bin/vigia materialize "$@"
echo "Done. Reports: data/reports/   Warehouse: data/warehouse.duckdb   UI: DAGSTER_HOME=$DAGSTER_HOME .venv/bin/dagster dev"
