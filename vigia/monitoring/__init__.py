"""Model monitoring: feature and dataset drift (Dagster-free)."""

from vigia.monitoring.drift import DriftReport, FeatureDrift, dataset_drift, feature_drift, psi

__all__ = ["DriftReport", "FeatureDrift", "dataset_drift", "feature_drift", "psi"]
