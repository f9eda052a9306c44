"""OTLP protobuf requests → Arrow record batches, one per table (see schema.py)."""

from otelcap.model.convert import Batches, Conversion, to_batches

__all__ = ["Batches", "Conversion", "to_batches"]
