"""API / application events: synthetic generator, file reader, per-event features, token novelty."""

from vigia.events.features import EventEncoders, event_features, feature_matrix, fit_event_encoders
from vigia.events.files import EventReadResult, canonical_events, read_event_files
from vigia.events.novelty import TokenNoveltyModel
from vigia.events.synth import generate_api_events, write_json_array, write_ndjson

__all__ = [
    "EventEncoders",
    "EventReadResult",
    "TokenNoveltyModel",
    "canonical_events",
    "event_features",
    "feature_matrix",
    "fit_event_encoders",
    "generate_api_events",
    "read_event_files",
    "write_json_array",
    "write_ndjson",
]
