"""MLflow experiment tracking and model registry helpers.

Deliberately import-free: MLflow is slow to import and the Dagster code location must not import
it at load time. Import ``vigia.tracking.mlflow_runs`` / ``vigia.tracking.registry`` inside asset bodies.
"""
