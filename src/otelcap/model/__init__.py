"""OTLP protobuf requests → Arrow record batches, one per table (see schema.py)."""

from otelcap.model.convert import Batches, Conversion, to_batches
from otelcap.model.workflow import PromptSteps

__all__ = ["Batches", "Conversion", "PromptSteps", "to_batches"]
