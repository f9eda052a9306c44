"""WorkflowStep: the slash command that started each turn, a Claude Code column the model fills.

Error analysis counts failures per workflow step, and Claude Code names the step only on the
turn's first event: `user_prompt` carries `command_name` (v2.1+), and otherwise the prompt text
starts with `/word`. So the step is read here, from the raw attributes, before the sanitizer
hashes the prompt (nothing else may keep prompt text), and copied to every later row of the
same `prompt.id` (a turn lives in one process and its events are ordered by event.sequence).

A turn's events arrive in several requests (Claude Code exports logs every 5 s; a turn runs
for minutes), so the steps of recent prompts are remembered across calls by a `PromptSteps`,
one per stream of requests (the ingest path keeps one per server). Rows of a prompt whose
user_prompt was not seen by this PromptSteps (it arrived before a restart, or was forgotten)
get ''; queries can still join on PromptId.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from otelcap.model.claude import lookup_many

_STR = pa.string()
# Claude Code's command_name, else a leading `/word` of the prompt text (not `/home/...`:
# a path has a second slash before any space, which the word does not allow).
_SLASH_WORD = r"^\s*/(?P<step>[A-Za-z0-9][\w:.\-]{0,63})(?:\s|$)"
_STEP_KEYS = pa.array(["command_name", "prompt"], _STR)
# Up to this many prompts a batch are matched from Python with the pattern compiled once
# (google-re2, the RE2 Arrow uses): pc.extract_regex compiles it on every call, ~250 µs,
# and a round of small requests carries a prompt or two (one user_prompt a turn). Past it,
# Arrow's kernel (the sanitizer's rules.COMPILED_MAX_VALUES draws the same line).
_PY_MATCH_MAX = 1000
# Prompt ids whose step is remembered for their later requests: the latest 4,096 turns that
# had a step, across every session the server hears from. About 0.9 MB (tracemalloc, UUID
# prompt ids).
STEP_MEMORY = 4096


class PromptSteps:
    """Fills WorkflowStep in otel_logs batches, remembering the last STEP_MEMORY prompt ids
    that had a step. Safe to share between threads that convert at the same time: the memory
    is updated and read under one lock."""

    def __init__(self, memory: int = STEP_MEMORY) -> None:
        self.memory = memory
        self._steps: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def fill(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """The batch with WorkflowStep set on every row (`''` where no step is known)."""
        if batch.num_rows == 0 or "WorkflowStep" not in batch.schema.names:
            return batch
        i = batch.schema.get_field_index("WorkflowStep")
        return batch.set_column(i, batch.schema.field(i), self._step(batch))

    def _step(self, batch: pa.RecordBatch) -> pa.Array:
        """Set on the row that carries the step (user_prompt) and on every later row of the
        same prompt.id seen by this PromptSteps, in this batch or the next ones."""
        attrs = _compact(batch.column("LogAttributes"))
        prompt_ids = batch.column("PromptId")
        step = pa.nulls(batch.num_rows, _STR)
        if pc.any(pc.is_in(attrs.keys, value_set=_STEP_KEYS)).as_py():
            # Both keys in one pass: pc.map_lookup cost ~2M instructions a key per 1,000 events.
            found = lookup_many(attrs, ["command_name", "prompt"])
            n = batch.num_rows
            command, prompt = found.slice(0, n), found.slice(n, n)
            command = pc.if_else(pc.equal(command, ""), pa.scalar(None, _STR), command)
            word = _slash_words(prompt)
            step = pc.coalesce(command, word)
            step = pc.binary_join_element_wise("/", pc.utf8_ltrim(step, "/"), "")
            self._remember(prompt_ids, step)
        # The batch's few distinct prompt ids are looked up in the dict: an Arrow index_in
        # against the remembered ids built a hash table of up to STEP_MEMORY strings every
        # round (~0.5 ms of a 3.5 ms round of one small request, cProfile).
        distinct = pc.dictionary_encode(prompt_ids)
        ids = distinct.dictionary.to_pylist()
        with self._lock:
            steps = [self._steps.get(pid) for pid in ids] if self._steps else []
        if any(s is not None for s in steps):
            known = pc.take(pa.array(steps, _STR), distinct.indices)
            step = pc.coalesce(step, known)
        return pc.fill_null(step, "")

    def _remember(self, prompt_ids: pa.Array, step: pa.Array) -> None:
        found = pc.and_(pc.is_valid(step), pc.not_equal(prompt_ids, ""))
        if not pc.any(found).as_py():
            return
        ids, steps = prompt_ids.filter(found).to_pylist(), step.filter(found).to_pylist()
        with self._lock:
            for pid, s in zip(ids, steps, strict=True):
                self._steps[pid] = s
                self._steps.move_to_end(pid)
            while len(self._steps) > self.memory:
                self._steps.popitem(last=False)


def _slash_words(prompt: pa.Array) -> pa.Array:
    """Each prompt's leading `/word` (null where there is none): _SLASH_WORD's step group."""
    present = len(prompt) - prompt.null_count
    if present > _PY_MATCH_MAX:
        return pc.struct_field(pc.extract_regex(prompt, _SLASH_WORD), "step")
    if not present:
        return pa.nulls(len(prompt), _STR)
    search = _slash_word().search
    words = []
    for text in prompt.to_pylist():
        m = search(text) if text is not None else None
        words.append(m.group("step") if m else None)
    return pa.array(words, _STR)


@functools.cache
def _slash_word() -> Any:
    import re2  # Arrow's RE2 options are the library's defaults: UTF-8, case-sensitive

    return re2.compile(_SLASH_WORD)


def _compact(arr: pa.Array) -> pa.Array:
    """A sliced map array copied so its offsets start at 0: MapArray.keys ignores a slice."""
    offsets = arr.offsets
    if arr.offset or offsets[0].as_py() != 0 or offsets[-1].as_py() != len(arr.keys):
        return pa.concat_arrays([arr])
    return arr
