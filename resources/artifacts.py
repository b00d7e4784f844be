"""Where models, reports and exports are written."""

from __future__ import annotations

from pathlib import Path

import dagster as dg


class ArtifactStore(dg.ConfigurableResource):
    """A local directory tree: ``models/<dataset>/``, ``reports/<dataset>/``, ``exports/<dataset>/``."""

    root: str = "data"

    def _dir(self, kind: str, dataset: str) -> Path:
        path = Path(self.root) / kind / dataset
        path.mkdir(parents=True, exist_ok=True)
        return path

    def models_dir(self, dataset: str) -> Path:
        return self._dir("models", dataset)

    def reports_dir(self, dataset: str) -> Path:
        return self._dir("reports", dataset)
