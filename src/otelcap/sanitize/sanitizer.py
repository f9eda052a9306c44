"""Sanitizer: Arrow batches in, Arrow batches out, before anything is queued.

Every string in a batch is visited, found by its type, not by a list of columns, so a column
added to the schema later is sanitized too: string columns, map values (resource, scope, log,
span, metric point attributes), lists of strings and lists of maps (span events, links,
exemplars). Map values are handled as one flat array per column (MapArray.items) and the map
is rebuilt around the same offsets and keys; nothing runs per row in Python except the HMAC
of the few values that are hashed.

It is a policy and nothing else: it derives no column. What the model derives from raw values
(WorkflowStep, read from the prompt before it is hashed here) arrives filled and is sanitized
like any other string.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from otelcap.config import Config
from otelcap.model.schema import PROMOTED_LOG, PROMOTED_METRIC, PROMOTED_SPAN
from otelcap.sanitize.keyed import KeyedHash, load_or_create_key
from otelcap.sanitize.policy import Policy
from otelcap.sanitize.rules import (
    ANY_PATTERN,
    CLIENT_REDACTED,
    DROP,
    DROPPED,
    HASH,
    REDACT,
    matches,
    redact_array,
)

# Hex renderings of binary ids, made by the model from bytes: they cannot carry text.
_BINARY_IDS = frozenset(
    {"TraceId", "SpanId", "ParentSpanId", "Links.TraceId", "Links.SpanId",
     "Exemplars.TraceId", "Exemplars.SpanId"}
)  # fmt: skip
# A promoted column holds a copy of one attribute: it gets exactly that attribute's rule.
_COLUMN_KEY = {
    col: key
    for col, key, kind in (*PROMOTED_LOG, *PROMOTED_SPAN, *PROMOTED_METRIC)
    if kind == "str"
}
_STR = pa.string()
_UNTOUCHED = pa.array(["", CLIENT_REDACTED], _STR)
_CLEAN_KEYS_MAX = 100_000  # a client inventing attribute names cannot grow memory forever


@dataclass
class _Slot:
    """One string array of the batch: its values, the field-rule masks (hash, drop, keep)
    that apply, and what the pattern rules get to scan (those values blanked out)."""

    values: pa.Array
    masks: dict[str, pa.Array]
    scan: pa.Array
    special: pa.Array | None = None  # the union of the masks


@dataclass
class _Work:
    """Every string array of one batch, so the pattern rules run once over all of them:
    RE2 compiles the combined pattern on each call (~1 ms), more than scanning a request."""

    slots: list[_Slot] = field(default_factory=list)
    keys: list[pa.Array] = field(default_factory=list)
    done: list[pa.Array] = field(default_factory=list)
    renamed: tuple[pa.Array, pa.Array] | None = None  # (bad keys, their hashes)

    def add(self, slot: _Slot) -> int:
        self.slots.append(slot)
        return len(self.slots) - 1


Build = Callable[[], pa.Array]


class Sanitizer:
    def __init__(self, config: Config | None = None) -> None:
        self.config = config
        self.policy = Policy.from_config(config)
        # Without a config (unit use) the key lives only in memory: hashes are not stable.
        key = load_or_create_key(config.data_dir) if config else secrets.token_bytes(32)
        self.hash = KeyedHash(key)
        self._clean_keys: set[str] = set()  # attribute names seen not to match any pattern

    def sanitize(self, batches: dict[str, pa.RecordBatch]) -> dict[str, pa.RecordBatch]:
        # One _Work for every table of the request, so the pattern rules run once: RE2
        # compiles the combined pattern on each call, and a metrics request fills up to five
        # tables.
        work = _Work()
        planned: dict[str, tuple[pa.RecordBatch, list[Build] | None]] = {}
        for table, batch in batches.items():
            if batch.num_rows == 0:
                planned[table] = (batch, None)
                continue
            builds = [
                self._plan(f.name, col, batch, work)
                for f, col in zip(batch.schema, batch.columns, strict=True)
            ]
            planned[table] = (batch, builds)
        self._run(work)
        return {
            table: batch
            if builds is None
            else pa.RecordBatch.from_arrays([build() for build in builds], schema=batch.schema)
            for table, (batch, builds) in planned.items()
        }

    # -- planning: find every string array, decide the field rules -------------------------

    def _plan(self, name: str, col: pa.Array, batch: pa.RecordBatch, work: _Work) -> Build:
        typ = col.type
        if name in _BINARY_IDS or not _has_text(typ):
            return lambda: col
        if pa.types.is_string(typ):
            i = work.add(self._slot(col, column=name))
            return lambda: work.done[i]
        if _is_text_map(typ):
            return self._plan_map(_compact(col), work)
        if pa.types.is_list(typ):
            lst = _compact(col)
            inner = _compact(lst.values)
            if pa.types.is_string(inner.type):
                j = work.add(self._slot(inner))
                build_inner: Build = lambda: work.done[j]  # noqa: E731
            elif _is_text_map(inner.type):
                content = self._event_content(name, lst, inner, batch)
                build_inner = self._plan_map(inner, work, content)
            else:
                raise TypeError(f"the sanitizer cannot handle column {name!r} of type {typ}")
            return lambda: pa.ListArray.from_arrays(
                lst.offsets, build_inner(), type=typ, mask=_nulls(lst)
            )
        # Fail closed: text in a shape this module does not know would be stored unsanitized.
        raise TypeError(f"the sanitizer cannot handle column {name!r} of type {typ}")

    def _plan_map(self, m: pa.MapArray, work: _Work, content: pa.Array | None = None) -> Build:
        i = work.add(self._slot(m.items, keys=m.keys, content=content))
        work.keys.append(m.keys)
        return lambda: pa.MapArray.from_arrays(
            m.offsets, self._rename(m.keys, work.renamed), work.done[i], type=m.type,
            mask=_nulls(m),
        )  # fmt: skip

    def _event_content(
        self, name: str, lst: pa.ListArray, maps: pa.MapArray, batch: pa.RecordBatch
    ) -> pa.Array | None:
        """For span event attributes: the map entries of content events (tool.output), whose
        every value is tool content whatever its key."""
        if name != "Events.Attributes" or self.policy.content_events is None:
            return None
        names = _compact(batch.column("Events.Name"))
        if not names.offsets.equals(lst.offsets):
            # Events.Name is built alongside Events.Attributes; if they ever disagree, treat
            # every event as content rather than guess.
            return pa.array(np.ones(len(maps.keys), dtype=bool))
        is_content = pc.is_in(names.values, value_set=self.policy.content_events)
        parent = np.repeat(np.arange(len(maps)), np.diff(maps.offsets.to_numpy()))
        return pc.take(is_content, pa.array(parent))

    def _slot(
        self,
        values: pa.Array,
        keys: pa.Array | None = None,
        column: str = "",
        content: pa.Array | None = None,
    ) -> _Slot:
        """Each value's field rule comes from its attribute key (`keys`, parallel to `values`)
        or, for a promoted column, from the attribute it copies; `content` marks values that
        are tool content whatever their key. Anything else gets the pattern rules."""
        p = self.policy
        if keys is None:
            action = p.key_action.get(_COLUMN_KEY.get(column, ""), REDACT)
            masks = {} if action == REDACT else {action: pa.array(np.ones(len(values), bool))}
        else:
            masks = {a: pc.is_in(keys, value_set=s) for a, s in p.keys_by_action.items()}
            if content is not None and p.content != REDACT:
                a = p.content
                masks[a] = pc.or_(masks[a], content) if a in masks else content
        if masks:
            # Nulls, empty values and Claude Code's own <REDACTED> have nothing to protect.
            plain = pc.and_(pc.is_valid(values), pc.invert(pc.is_in(values, value_set=_UNTOUCHED)))
            masks = {a: pc.and_(m, plain) for a, m in masks.items()}
            masks = {a: m for a, m in masks.items() if pc.any(m).as_py()}
        if not masks:
            return _Slot(values, {}, values)
        special = functools.reduce(pc.or_, masks.values())
        # Blank what is hashed, dropped or kept, so the patterns do not scan it (raw API
        # bodies are large) and cannot touch a kept value.
        return _Slot(values, masks, pc.if_else(special, pa.scalar("", _STR), values), special)

    # -- running: the pattern rules once, then the field rules -------------------------------

    def _run(self, work: _Work) -> None:
        if work.slots:
            scans = [s.scan for s in work.slots]
            redacted = redact_array(pa.concat_arrays(scans) if len(scans) > 1 else scans[0])
            start = 0
            for slot in work.slots:
                out = redacted.slice(start, len(slot.values))
                start += len(slot.values)
                work.done.append(self._finish(slot, out))
        work.renamed = self._bad_keys(work.keys)

    def _finish(self, slot: _Slot, out: pa.Array) -> pa.Array:
        if slot.special is None:
            return out
        out = pc.if_else(slot.special, slot.values, out)  # kept values, and the base for the rest
        if HASH in slot.masks:
            mask = slot.masks[HASH]
            out = pc.replace_with_mask(out, mask, self._hash_all(slot.values.filter(mask)))
        if DROP in slot.masks:
            out = pc.if_else(slot.masks[DROP], pa.scalar(DROPPED, _STR), out)
        return out

    def _hash_all(self, values: pa.Array) -> pa.Array:
        seen: dict[str, str] = {}
        out = []
        for v in values.to_pylist():
            h = seen.get(v)
            if h is None:
                h = seen[v] = self.hash(v)
            out.append(h)
        return pa.array(out, _STR)

    def _bad_keys(self, keys: list[pa.Array]) -> tuple[pa.Array, pa.Array] | None:
        """Attribute names are chosen by the client and could carry an email or a token. One
        that matches a pattern is replaced by its keyed hash, which keeps a map's keys unique
        (DuckDB refuses a map with a repeated key: two `<email>` keys would collide)."""
        if not keys:
            return None
        distinct = pc.unique(pa.concat_arrays(keys) if len(keys) > 1 else keys[0])
        # Names come from a small vocabulary: remember the clean ones instead of paying for
        # a regex compile per batch.
        new = [k for k in distinct.to_pylist() if k not in self._clean_keys]
        if not new:
            return None
        fresh = pa.array(new, _STR)
        hit = matches(fresh, ANY_PATTERN)
        if len(self._clean_keys) > _CLEAN_KEYS_MAX:
            self._clean_keys.clear()
        self._clean_keys.update(fresh.filter(pc.invert(hit)).to_pylist())
        bad = fresh.filter(hit)
        if len(bad) == 0:
            return None
        return bad, pa.array([self.hash(k) for k in bad.to_pylist()], _STR)

    @staticmethod
    def _rename(keys: pa.Array, renamed: tuple[pa.Array, pa.Array] | None) -> pa.Array:
        if renamed is None:
            return keys
        bad, hashed = renamed
        return pc.coalesce(pc.take(hashed, pc.index_in(keys, value_set=bad)), keys)


def _compact(arr: pa.Array) -> pa.Array:
    """A sliced list or map array, copied so its offsets start at 0 and its children hold
    exactly its items (the rebuilt array pairs these offsets with the sanitized children)."""
    if not isinstance(arr, pa.ListArray):  # MapArray is one too
        return arr
    offsets = arr.offsets
    if arr.offset or offsets[0].as_py() != 0 or offsets[-1].as_py() != len(arr.values):
        return pa.concat_arrays([arr])
    return arr


def _has_text(typ: pa.DataType) -> bool:
    if pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_string_view(typ):
        return True
    if pa.types.is_dictionary(typ):
        return _has_text(typ.value_type)
    return any(_has_text(typ.field(i).type) for i in range(typ.num_fields))


def _is_text_map(typ: pa.DataType) -> bool:
    return (
        pa.types.is_map(typ)
        and pa.types.is_string(typ.key_type)
        and pa.types.is_string(typ.item_type)
    )


def _nulls(arr: pa.Array) -> pa.Array | None:
    return arr.is_null() if arr.null_count else None
