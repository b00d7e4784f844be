"""A scikit-learn transformer around an already fitted :class:`FeaturePreprocessor`.

Lets the logged MLflow model be a plain ``sklearn.pipeline.Pipeline`` (preprocess → detector) that
scores RAW feature rows. No MLflow import here: unpickling a logged model only needs this module.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from vigia.models.preprocess import FeaturePreprocessor


class PreprocessorTransformer(TransformerMixin, BaseEstimator):
    """Pre-fitted preprocessing step: ``fit`` is a no-op, ``transform`` delegates to ``preprocessor``.

    A pandas DataFrame input is reordered to ``feature_names`` (when given) before conversion to float64.
    """

    def __init__(self, preprocessor: FeaturePreprocessor | None = None, feature_names: list[str] | None = None):
        self.preprocessor = preprocessor
        self.feature_names = feature_names

    def fit(self, X: Any, y: Any = None) -> PreprocessorTransformer:
        """No-op: the wrapped preprocessor is already fitted."""
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Scaled float64 matrix, as ``FeaturePreprocessor.transform``."""
        if self.preprocessor is None:
            raise RuntimeError("PreprocessorTransformer has no preprocessor")
        if self.feature_names is not None and hasattr(X, "columns"):
            X = X[list(self.feature_names)]
        return self.preprocessor.transform(np.asarray(X, dtype=np.float64))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output columns keep the input feature names."""
        names = self.feature_names if self.feature_names is not None else input_features
        return np.asarray(names, dtype=object)

    def __sklearn_is_fitted__(self) -> bool:
        return self.preprocessor is not None and hasattr(self.preprocessor, "scaler_")
