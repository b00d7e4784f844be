"""Errors raised by source readers."""

from __future__ import annotations


class SourceError(ValueError):
    """A source path or file cannot be used at all (missing, empty, unreadable); the message names the path."""
