"""The active policy: the field rules' actions as chosen by the configuration, and the
description of every rule that `otelcap privacy` prints."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from otelcap.config import Config
from otelcap.errors import ConfigError
from otelcap.sanitize.keyed import PREFIX
from otelcap.sanitize.rules import (
    ACTIONS,
    DROP,
    DROPPED,
    FIELD_RULES,
    HASH,
    IDENTITY_KEYS,
    KEEP,
    PATTERN_RULES,
    REDACT,
)


@dataclass(frozen=True)
class Policy:
    prompts: str = HASH
    content: str = HASH
    keep_identity: frozenset[str] = frozenset()
    key_action: dict[str, str] = field(default_factory=dict)  # attribute key → action
    # Arrow value sets for pc.is_in, per action other than redact (the default).
    keys_by_action: dict[str, pa.Array] = field(default_factory=dict)
    content_events: pa.Array | None = None  # span events whose every value is content

    @classmethod
    def from_config(cls, config: Config | None) -> Policy:
        prompts = _action(config, "privacy_prompts")
        content = _action(config, "privacy_content")
        raw_keep = getattr(config, "privacy_keep_identity", "") if config else ""
        keep = frozenset(k.strip() for k in raw_keep.split(",") if k.strip())
        unknown = sorted(keep - set(IDENTITY_KEYS))
        if unknown:
            raise ConfigError(
                f"privacy_keep_identity: unknown field(s) {', '.join(unknown)}; "
                f"choose from {', '.join(IDENTITY_KEYS)}"
            )
        group_action = {"prompts": prompts, "content": content}
        key_action: dict[str, str] = {}
        events: list[str] = []
        for rule in FIELD_RULES:
            for key in rule.keys:
                if rule.group == "identity":
                    key_action[key] = KEEP if key in keep else HASH
                else:
                    key_action[key] = group_action[rule.group]
            if rule.event and group_action[rule.group] != REDACT:
                events.append(rule.event)
        by_action: dict[str, list[str]] = {}
        for key, action in key_action.items():
            if action != REDACT:
                by_action.setdefault(action, []).append(key)
        return cls(
            prompts=prompts,
            content=content,
            keep_identity=keep,
            key_action=key_action,
            keys_by_action={a: pa.array(ks, pa.string()) for a, ks in by_action.items()},
            content_events=pa.array(events, pa.string()) if events else None,
        )


def _action(config: Config | None, name: str) -> str:
    value = str(getattr(config, name, HASH) if config else HASH).strip().lower()
    if value not in ACTIONS:
        raise ConfigError(f"{name} must be one of {', '.join(ACTIONS)}; got {value!r}")
    return value


_EFFECT = {
    HASH: f"{PREFIX}<64 hex>:<length>",
    DROP: DROPPED,
    REDACT: "the text, pattern rules applied",
    KEEP: "the value, unchanged",
}
_SETTING = {"prompts": "privacy_prompts", "content": "privacy_content"}


def describe_rules(config: Config | None = None) -> list[dict[str, str]]:
    """Every active rule, in the order they apply: field rules on whole values chosen by
    attribute key, then pattern rules on every other string (values, keys, bodies, errors).
    Each row: rule, kind, applies_to, matches, action, replacement, setting, pattern, example."""
    policy = Policy.from_config(config)
    rows = []
    for r in FIELD_RULES:
        action = policy.key_action[r.keys[0]] if r.keys else policy.content
        where = ", ".join(r.keys) if r.keys else f"{r.event} event attributes"
        rows.append(
            {
                "rule": r.name,
                "kind": "field",
                "applies_to": where,
                "matches": r.description,
                "action": action,
                "replacement": _EFFECT[action],
                "setting": _SETTING.get(r.group, "privacy_keep_identity"),
                "pattern": "",
                "example": "",
            }
        )
    for p in PATTERN_RULES:
        rows.append(
            {
                "rule": p.name,
                "kind": "pattern",
                "applies_to": "every other string",
                "matches": p.description,
                "action": "replace",
                "replacement": p.placeholder.replace("\\1", ""),
                "setting": "",
                "pattern": p.pattern,
                "example": f"{p.example!r} → {p.result!r}",
            }
        )
    return rows


def render_rules(rows: list[dict[str, str]]) -> str:
    """describe_rules() as text for a terminal."""
    out = [
        "Field rules: whole values, chosen by attribute key (any attribute map).",
        "  hash = keyed HMAC-SHA256 (key in the data directory), length kept; equal values",
        "  still group. Change with privacy_prompts / privacy_content = hash|drop|redact and",
        "  privacy_keep_identity = user.email,user.account_uuid,organization.id.",
    ]
    for r in rows:
        if r["kind"] == "field":
            out.append(f"  {r['rule']:<16} {r['action']:<7} {r['applies_to']}")
            out.append(f"  {'':<16} {'':<7} {r['matches']}")
    out += [
        "",
        "Pattern rules: every other string (attribute values and keys, bodies, errors,",
        "span and event names). Each match is replaced by a placeholder.",
    ]
    for r in rows:
        if r["kind"] == "pattern":
            out.append(f"  {r['rule']:<18} → {r['replacement']:<22} {r['matches']}")
            out.append(f"  {'':<18}   e.g. {r['example']}")
    return "\n".join(out)
