"""Supervised tabular core: synthetic customers (``synth``), extract folders (``extracts``), calibrated models
(``model``), business value (``value``) and the public credit data sets (``credit_data``).

Import the submodules directly: this package imports nothing, so the Dagster code location stays light.
"""
