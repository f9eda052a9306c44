"""Privacy by default: every batch is sanitized before it is queued, so nothing unsanitized
reaches the pipeline, the database or an export.

rules.py holds the rules as data, keyed.py the per-installation key and keyed hash,
policy.py the configured actions and `describe_rules`, sanitizer.py the Arrow walk.
"""

from otelcap.sanitize.policy import Policy, describe_rules, render_rules
from otelcap.sanitize.rules import FIELD_RULES, PATTERN_RULES
from otelcap.sanitize.sanitizer import Sanitizer

__all__ = ["FIELD_RULES", "PATTERN_RULES", "Policy", "Sanitizer", "describe_rules", "render_rules"]
