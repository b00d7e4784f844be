"""Supervised tabular core: synthetic customers, extract folders, calibrated models, business value."""

from vigia.tabular.credit_data import load_credit_table, taiwan_batches
from vigia.tabular.extracts import ExtractsResult, newest_extract, read_extracts
from vigia.tabular.model import (
    CreditModel,
    calibration_plot,
    evaluate_model,
    fit_and_select,
    fit_credit_model,
    load_model,
    predict_batch,
    save_model,
    stratified_split,
    unseen_categories,
)
from vigia.tabular.synth import generate_customers
from vigia.tabular.value import ValueMatrix, choose_threshold, expected_cost_per_applicant

__all__ = [
    "CreditModel",
    "ExtractsResult",
    "ValueMatrix",
    "calibration_plot",
    "choose_threshold",
    "evaluate_model",
    "expected_cost_per_applicant",
    "fit_and_select",
    "fit_credit_model",
    "generate_customers",
    "load_credit_table",
    "load_model",
    "newest_extract",
    "predict_batch",
    "read_extracts",
    "save_model",
    "stratified_split",
    "taiwan_batches",
    "unseen_categories",
]
