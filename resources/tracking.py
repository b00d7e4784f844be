"""MLflow tracking through dagster-mlflow, with runs always ended (also under ``dagster asset materialize``)."""

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import dagster as dg


class MlflowTracking(dg.ConfigurableResource):
    """Where training runs are tracked: a SQLite store by default, a server URL by configuration.

    ``session`` opens (or re-joins) the MLflow run that dagster-mlflow ties to the Dagster run id, so every
    step of one Dagster run logs under one parent run, and ends every active run when the step finishes:
    the implicit job of ``dagster asset materialize`` carries no job hooks. MLflow is imported lazily.
    """

    tracking_uri: str = "sqlite:///data/mlflow.db"
    experiment_prefix: str = "vigia"
    ui_url: str = "http://127.0.0.1:5000"

    def experiment(self, dataset: str) -> str:
        return f"{self.experiment_prefix}-{dataset}"

    def run_url(self, experiment_id: str, run_id: str) -> str:
        return f"{self.ui_url.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"

    @contextmanager
    def session(self, context: dg.AssetExecutionContext, dataset: str, tags: dict[str, str]) -> Iterator[Any]:
        from dagster_mlflow.resources import MlFlow

        from vigia.tracking.mlflow_runs import configure, ensure_ended

        configure(self.tracking_uri, self.experiment(dataset))
        shim = SimpleNamespace(
            log=context.log,
            dagster_run=context.run,
            run_id=context.run.run_id,
            resource_config={
                "experiment_name": self.experiment(dataset),
                "mlflow_tracking_uri": self.tracking_uri,
                "extra_tags": {"dataset": dataset, **tags},
            },
        )
        failed = False
        try:
            yield MlFlow(shim)
        except BaseException:
            failed = True
            raise
        finally:
            ensure_ended("FAILED" if failed else "FINISHED")
