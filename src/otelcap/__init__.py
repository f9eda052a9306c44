"""otelcap: a local collector for Claude Code's OpenTelemetry telemetry."""

__version__ = "0.1.0"
