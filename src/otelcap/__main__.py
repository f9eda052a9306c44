"""`python -m otelcap`: what the background service runs (it works from any venv, pipx's too)."""

from otelcap.cli import main

main()
