"""Assembles the single Dagster code location of Vigia."""
