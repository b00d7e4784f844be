"""Multivariate sensor time series: loading, cleaning, windowing, autoencoders and the SKAB protocol."""
