"""Operating otelcap: `setup claude` (claude.py), `doctor` (doctor.py), `status` (status.py),
and what they share, finding the running server and probing ports (running.py).

These modules read through the same paths as `otelcap query` (the running server's loopback
endpoint, or the database file when no server runs) and never import the service.
"""
