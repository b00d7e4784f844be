"""MLflow experiment tracking and model registry helpers.

Deliberately import-free: MLflow is slow to import and the Dagster code location must not import
it at load time. Import ``vigia.tracking.mlflow_runs`` / ``vigia.tracking.registry`` inside asset bodies.

Importing this package sets MLflow environment defaults (a value already set wins): no telemetry, no artifact
progress bar, and bounded HTTP retries and timeout, so a tracking server that is down fails a step in seconds
rather than after MLflow's default retries (about 4 minutes).
"""

import os

MLFLOW_ENV_DEFAULTS = {
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",  # MLflow's default: 7, with exponential backoff
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",  # seconds per request; MLflow's default: 120
}
for _name, _value in MLFLOW_ENV_DEFAULTS.items():
    os.environ.setdefault(_name, _value)
