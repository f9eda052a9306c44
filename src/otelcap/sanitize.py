"""Sanitization seam: Arrow batches in, Arrow batches out, before anything is queued.

Until the privacy rules land (see the privacy issue) this passes batches through unchanged;
the service wires it between the model and the pipeline so nothing bypasses it later.
"""

from __future__ import annotations

import pyarrow as pa

from otelcap.config import Config


class Sanitizer:
    def __init__(self, config: Config | None = None) -> None:
        self.config = config

    def sanitize(self, batches: dict[str, pa.RecordBatch]) -> dict[str, pa.RecordBatch]:
        return batches
