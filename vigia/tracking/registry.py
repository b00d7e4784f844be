"""MLflow model registry: register versions, champion alias, promotion decisions.

The champion of a registered model is the version holding the ``champion`` alias. :func:`promote`
records the validation metric it was promoted with as model-version tags
(``vigia.promotion.metric`` / ``vigia.promotion.value`` / ``vigia.promotion.at``).
Uses the tracking / registry URI set by :func:`vigia.tracking.mlflow_runs.configure`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, ErrorCode

CHAMPION_ALIAS = "champion"
TAG_METRIC = "vigia.promotion.metric"
TAG_VALUE = "vigia.promotion.value"
TAG_AT = "vigia.promotion.at"
_EPS = 1e-12


@dataclass
class ChampionInfo:
    """The version behind the ``champion`` alias, with the metric it was promoted with (if recorded)."""

    name: str
    version: str
    run_id: str | None
    source: str | None
    tags: dict[str, str] = field(default_factory=dict)
    metric_name: str | None = None
    metric_value: float | None = None


@dataclass
class PromotionDecision:
    """Outcome of comparing a candidate's validation metric with the champion's."""

    promote: bool
    reason: str
    candidate: float | None
    champion: float | None
    tolerance: float
    metric_name: str


def _client() -> mlflow.MlflowClient:
    return mlflow.MlflowClient()


def _parse_float(value: str | None) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def register_version(model_uri: str, name: str, tags: dict[str, Any]) -> str:
    """Register ``model_uri`` as a new version of ``name`` (created if missing); return the version string."""
    mv = mlflow.register_model(model_uri, name, tags={str(k): str(v) for k, v in (tags or {}).items()})
    return str(mv.version)


def champion_version(name: str) -> ChampionInfo | None:
    """The ``champion`` version of ``name``, or ``None`` when the model or the alias does not exist."""
    client = _client()
    try:
        if CHAMPION_ALIAS not in (client.get_registered_model(name).aliases or {}):
            return None
        mv = client.get_model_version_by_alias(name, CHAMPION_ALIAS)
    except MlflowException as exc:
        if exc.error_code == ErrorCode.Name(RESOURCE_DOES_NOT_EXIST):
            return None
        raise
    tags = dict(mv.tags or {})
    return ChampionInfo(
        name=name,
        version=str(mv.version),
        run_id=mv.run_id,
        source=mv.source,
        tags=tags,
        metric_name=tags.get(TAG_METRIC),
        metric_value=_parse_float(tags.get(TAG_VALUE)),
    )


def decide_promotion(
    candidate_metric: float | None,
    champion_metric: float | None,
    tolerance: float,
    metric_name: str,
    *,
    champion_version: str | None = None,
) -> PromotionDecision:
    """Promote when there is no champion, or when ``candidate >= champion - tolerance`` (higher is better).

    A champion exists when ``champion_metric`` or ``champion_version`` is given. A missing (None / NaN)
    candidate metric never replaces an existing champion; a champion without a recorded metric is
    replaced by any candidate that has one.
    """
    if tolerance < 0 or not math.isfinite(tolerance):
        raise ValueError(f"tolerance must be a finite number >= 0, got {tolerance}")
    cand, champ = _finite(candidate_metric), _finite(champion_metric)
    label = f"champion v{champion_version}" if champion_version else "champion"

    def decision(promote: bool, reason: str) -> PromotionDecision:
        return PromotionDecision(promote, reason, cand, champ, tolerance, metric_name)

    if champ is None and champion_version is None:
        shown = "no value" if cand is None else f"{cand:.3f}"
        return decision(True, f"no champion yet: candidate ({metric_name} {shown}) promoted")
    if cand is None:
        shown = "" if champ is None else f" ({champ:.3f})"
        return decision(False, f"candidate has no {metric_name}: {label}{shown} kept")
    if champ is None:
        return decision(True, f"{label} has no recorded {metric_name}: candidate ({cand:.3f}) promoted")
    diff = cand - champ
    if diff > _EPS:
        return decision(
            True, f"candidate {metric_name} {cand:.3f} is better than champion {champ:.3f} by {diff:.3f}: promoted"
        )
    if diff >= -_EPS:
        return decision(True, f"candidate {metric_name} {cand:.3f} equals champion {champ:.3f}: promoted")
    if -diff <= tolerance + _EPS:
        return decision(
            True,
            f"candidate {metric_name} {cand:.3f} is worse than champion {champ:.3f} by {-diff:.3f} "
            f"(<= tolerance {tolerance:g}): promoted",
        )
    return decision(
        False,
        f"candidate {metric_name} {cand:.3f} is worse than champion {champ:.3f} by {-diff:.3f} "
        f"(> tolerance {tolerance:g}): {label} kept",
    )


def promote(name: str, version: str, metric_name: str, metric_value: float | None) -> None:
    """Point the ``champion`` alias of ``name`` at ``version`` and tag the version with the metric."""
    client = _client()
    value = _finite(metric_value)
    client.set_model_version_tag(name, str(version), TAG_METRIC, metric_name)
    client.set_model_version_tag(name, str(version), TAG_VALUE, "" if value is None else repr(value))
    client.set_model_version_tag(name, str(version), TAG_AT, datetime.now(UTC).isoformat(timespec="seconds"))
    client.set_registered_model_alias(name, CHAMPION_ALIAS, str(version))


def restore_champion(name: str, version: str | None) -> None:
    """Point the ``champion`` alias of ``name`` back at ``version``, or remove it when ``version`` is None."""
    client = _client()
    if version is None:
        client.delete_registered_model_alias(name, CHAMPION_ALIAS)
    else:
        client.set_registered_model_alias(name, CHAMPION_ALIAS, str(version))


def load_champion_sklearn(name: str) -> tuple[Any, ChampionInfo]:
    """Load the ``champion`` version of ``name`` with the sklearn flavour; ``LookupError`` when there is none.

    The alias is resolved once and that version (``models:/<name>/<version>``, the same model as
    ``models:/<name>@champion``) is loaded, so the returned info always matches the model.
    """
    info = champion_version(name)
    if info is None:
        raise LookupError(f"registered model {name!r} has no {CHAMPION_ALIAS!r} version")
    model = mlflow.sklearn.load_model(f"models:/{name}/{info.version}")
    return model, info
