"""The privacy rules, as data: what is matched, what replaces it, and an example of each.

Two tables:

- FIELD_RULES pick attributes by key (or by span event name) whose whole value is content or
  identity: prompts, responses, tool inputs, raw API bodies, `user.email`. Their action
  (hash, drop or redact) comes from the configuration.
- PATTERN_RULES are regular expressions applied to every other string: map values of every
  attribute map, log bodies, error texts, span names. Each match becomes a typed placeholder.

Patterns are RE2 (Arrow's regex engine): no lookaround and no backreferences, so a context
that must survive (`password=` before the value) is a capture group put back by `\\1`.
They run over whole Arrow arrays (see redact_array), never row by row in Python.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

# Actions a field rule can take. hash: keyed HMAC-SHA256 with the length kept; drop: the
# value becomes DROPPED; redact: the value is kept with PATTERN_RULES applied.
HASH, DROP, REDACT, KEEP = "hash", "drop", "redact", "keep"
ACTIONS = (HASH, DROP, REDACT)
DROPPED = "<dropped>"
# Claude Code's own placeholder when a content flag is off: nothing to protect, and worth
# keeping as is (it says the content was never sent).
CLIENT_REDACTED = "<REDACTED>"


@dataclass(frozen=True)
class FieldRule:
    name: str
    group: str  # the setting that picks the action: prompts | content | identity
    keys: tuple[str, ...]  # attribute keys, in any attribute map (and promoted columns)
    description: str
    event: str = ""  # a span event whose every attribute value the rule covers


FIELD_RULES: tuple[FieldRule, ...] = (
    FieldRule(
        "prompt-text",
        "prompts",
        ("prompt", "prompt_text", "user_prompt"),
        "prompt text: user_prompt events, the interaction span's user_prompt",
    ),
    FieldRule("response-text", "prompts", ("response",), "assistant_response text"),
    FieldRule(
        "tool-content",
        "content",
        ("tool_parameters", "tool_input", "full_command"),
        "tool inputs (file contents, edits) and whole shell commands; bash_argv0 and "
        "bash_command_class stay readable",
    ),
    FieldRule(
        "tool-output",
        "content",
        (),
        "every attribute of tool.output span events (command output, written content)",
        event="tool.output",
    ),
    FieldRule(
        "api-body", "content", ("body",), "raw API request/response bodies (the conversation)"
    ),
    FieldRule("user-email", "identity", ("user.email",), "the OAuth user's email"),
    FieldRule("account-uuid", "identity", ("user.account_uuid",), "the Anthropic account id"),
    FieldRule("organization-id", "identity", ("organization.id",), "the organization id"),
)
IDENTITY_KEYS: tuple[str, ...] = tuple(
    k for r in FIELD_RULES if r.group == "identity" for k in r.keys
)


@dataclass(frozen=True)
class PatternRule:
    name: str
    description: str
    pattern: str  # RE2
    placeholder: str  # RE2 rewrite string: \1 puts a kept context group back
    example: str  # matched by the pattern (tests check each example)
    result: str  # the example after the rule


# Order matters where patterns overlap: whole PEM blocks before the keys inside them, and
# specific keys before the generic `token=` rule, so a key gets its own placeholder.
_V = r"[\\\"']*\s*[:=]\s*[\\\"']*"  # `=`, `: `, `":"`, `\":\"` between a name and a value
PATTERN_RULES: tuple[PatternRule, ...] = (
    PatternRule(
        "private-key",
        "PEM private key blocks (a truncated block: to the end of the text)",
        r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(?:-----END[A-Z0-9 ]*PRIVATE KEY-----|\z)",
        "<secret:private-key>",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow…\n-----END RSA PRIVATE KEY-----",
        "<secret:private-key>",
    ),
    PatternRule(
        "anthropic-key",
        "Anthropic API keys (sk-ant-…)",
        r"sk-ant-[A-Za-z0-9_\-]{20,}",
        "<secret:anthropic>",
        "key sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx-Yz01",
        "key <secret:anthropic>",
    ),
    PatternRule(
        "openai-key",
        "OpenAI API keys (sk-proj-…, sk-svcacct-…, sk-admin-…, legacy sk-…T3BlbkFJ…)",
        r"sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{20,}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})",
        "<secret:openai>",
        "OPENAI_API_KEY=sk-proj-AbCdEfGhIjKlMnOpQrSt_uvwxyz0123",
        "OPENAI_API_KEY=<secret:openai>",
    ),
    PatternRule(
        "aws-access-key-id",
        "AWS access key ids (AKIA…, ASIA…: 20 characters)",
        r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}",
        "<secret:aws>",
        "aws=AKIAIOSFODNN7EXAMPLE",
        "aws=<secret:aws>",
    ),
    PatternRule(
        "aws-secret-key",
        "AWS secret access keys: 40 base64 characters after an aws…secret… name",
        r"(?i)(aws[\w.\-]{0,20}secret[\w.\-]{0,20}" + _V + r")[A-Za-z0-9/+]{40}",
        r"\1<secret:aws>",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "aws_secret_access_key = <secret:aws>",
    ),
    PatternRule(
        "github-token",
        "GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)",
        r"(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})",
        "<secret:github>",
        "GH_TOKEN=ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
        "GH_TOKEN=<secret:github>",
    ),
    PatternRule(
        "gitlab-token",
        "GitLab personal access tokens (glpat-…)",
        r"glpat-[A-Za-z0-9_\-]{20,}",
        "<secret:gitlab>",
        "glpat-AbCdEfGhIjKlMnOpQrSt",
        "<secret:gitlab>",
    ),
    PatternRule(
        "slack-token",
        "Slack tokens (xoxa-, xoxb-, xoxp-, xoxr-, xoxs-)",
        r"xox[abprs]-[A-Za-z0-9\-]{10,}",
        "<secret:slack>",
        "xoxb-1234567890-0987654321-AbCdEfGh",
        "<secret:slack>",
    ),
    PatternRule(
        "jwt",
        "JSON Web Tokens (eyJ….eyJ….signature)",
        r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*",
        "<secret:jwt>",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "<secret:jwt>",
    ),
    PatternRule(
        "bearer-token",
        "the token after Bearer",
        r"(?i)(bearer\s+)[A-Za-z0-9\-._~+/]{8,}=*",
        r"\1<secret:bearer>",
        "Authorization: Bearer abc123def456ghi789",
        "Authorization: Bearer <secret:bearer>",
    ),
    PatternRule(
        "url-password",
        "the password in scheme://user:password@host",
        r"([A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@?#\"'\\]+:)[^\s/@?#\"'\\]+@",
        r"\1<secret:password>@",
        "postgres://app:hunter2@db.internal:5432/app",
        "postgres://app:<secret:password>@db.internal:5432/app",
    ),
    PatternRule(
        "secret-assignment",
        "the value after password=, token:, api_key=, secret= and similar names",
        # Not after `<`: a placeholder such as <secret:aws> is not an assignment.
        r"(?i)((?:^|[^<])(?:password|passwd|passphrase|secret|token|api[_\-]?key|apikey"
        r"|access[_\-]?key|private[_\-]?key|client[_\-]?secret)" + _V + r")[^\s\"'\\&,;<>]{3,}",
        r"\1<secret:assignment>",
        'DB_PASSWORD=hunter2 and {"api_key": "abc123"}',
        'DB_PASSWORD=<secret:assignment> and {"api_key": "<secret:assignment>"}',
    ),
    PatternRule(
        "email",
        "email addresses",
        r"[A-Za-z0-9._%+\-]+@[A-Za-z][A-Za-z0-9\-]*(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}",
        "<email>",
        "mail jane.doe@example.com today",
        "mail <email> today",
    ),
    PatternRule(
        # A phone needs a phone's shape: a leading + with separated groups or 8-15 digits,
        # or the North American (415) 555-0134 / 415-555-0134. Bare digit runs (token counts,
        # epoch ns), dates, times, versions and UUIDs never have that shape.
        "phone",
        "phone numbers: +country groups, +E.164, (415) 555-0134, 415-555-0134",
        r"\+[1-9]\d{0,2}(?:[ .\-]\(?\d{1,4}\)?|\s?\(\d{1,4}\))(?:[ .\-]\d{2,4}){2,4}\b"
        r"|\+[1-9]\d{7,14}\b"
        r"|(?:\(\d{3}\)\s?|\b\d{3}[.\-])\d{3}[.\-]\d{4}\b",
        "<phone>",
        "call +1 (415) 555-0134 or 415-555-0134",
        "call <phone> or <phone>",
    ),
)

# One pass of this finds the few strings that need any rule; the rules then run on those only.
ANY_PATTERN = "|".join(f"(?:{r.pattern})" for r in PATTERN_RULES)

# Arrow's regex kernels compile their pattern on every call and start with a cold DFA: that
# was 58% of sanitizing a round of 16 five-record requests (callgrind). The same RE2 library
# compiled once (google-re2) costs ~1 µs a value from Python instead, so it wins on small
# arrays: per round, 16.3M -> 6.9M instructions for 1 request (~46 distinct values), 21.1M
# -> 13.8M for 16 (~320), even at 64 (~960 values) and a loss beyond; wall clock, 300
# values 0.42 ms against Arrow's 1.45, 3,000 values 7.6 ms against 3.3. Past this many
# values, Arrow's kernel.
COMPILED_MAX_VALUES = 1000


@functools.cache
def _compiled(pattern: str) -> Any:
    """The pattern compiled once with Arrow's RE2 options (UTF-8, case-sensitive, not
    literal; never_capture only stops recording groups, which a yes/no match never reads)."""
    import re2

    options = re2.Options()
    options.never_capture = True
    return re2.compile(pattern, options)


def matches(arr: pa.Array, pattern: str) -> pa.Array:
    """Which values the RE2 pattern matches anywhere: pc.match_substring_regex, with null as
    False. Small arrays use the pattern compiled once (see COMPILED_MAX_VALUES)."""
    if len(arr) <= COMPILED_MAX_VALUES:
        search = _compiled(pattern).search
        # The values as UTF-8 bytes, which is what RE2 reads: given a str, google-re2 encodes
        # it and maps byte offsets back to characters, ~1.9 µs of a 2.9 µs search (490
        # values a round of 30 small requests: 1.50 → 0.97 ms).
        texts = arr.cast(pa.binary()).to_pylist()
        return pa.array([v is not None and search(v) is not None for v in texts], pa.bool_())
    return pc.fill_null(pc.match_substring_regex(arr, pattern), False)


def redact_array(arr: pa.Array) -> pa.Array:
    """Apply PATTERN_RULES to a string array.

    Each distinct value is scanned once: attribute values repeat a lot (session and user ids,
    model names, small numbers), and RE2 costs ~100 ns per value however short it is.
    One combined pattern finds the few values that need any rule; only those are rewritten,
    and only by the rules that match one of them (each Arrow rewrite compiles its pattern).
    """
    if len(arr) == 0 or arr.null_count == len(arr):
        return arr
    encoded = pc.dictionary_encode(arr)
    words = encoded.dictionary
    hit = matches(words, ANY_PATTERN)
    if not hit.true_count:
        return arr
    sub = words.filter(hit)
    few = len(sub) <= COMPILED_MAX_VALUES
    for rule in PATTERN_RULES:
        # Rules run in order on what the earlier ones left, so each looks at the current text.
        if not few or matches(sub, rule.pattern).true_count:
            sub = pc.replace_substring_regex(sub, rule.pattern, rule.placeholder)
    return pc.take(pc.replace_with_mask(words, hit, sub), encoded.indices)


def redact_text(text: str) -> str:
    """PATTERN_RULES on one string (tests, and values that are already Python strings)."""
    return str(redact_array(pa.array([text], pa.string()))[0].as_py())


# The same rules in Python's re, for one string at a time: log lines (logfmt masks them with
# this; see service.py). Arrow compiles its RE2 patterns on every call, ~2 ms a line; these
# are compiled once and cost ~20-30 us on a typical line. The only RE2 spelling Python lacks
# is \z (end of text: Python's \Z); re.ASCII keeps \d, \w and \b to ASCII as RE2 does (its
# \s also takes \v, RE2's does not).
# Python's re backtracks where RE2 does not: a line costs up to the square of its longest run
# of letters and digits (~1 s for 20,000 in a row), so callers cut attacker-sized text first.
_PY_RULES = tuple(
    (re.compile(r.pattern.replace(r"\z", r"\Z"), re.ASCII), r.placeholder) for r in PATTERN_RULES
)


def redact_line(text: str) -> str:
    """PATTERN_RULES on one string with Python's re; equal to redact_text (tests check both
    on the same tables)."""
    for pattern, placeholder in _PY_RULES:
        text = pattern.sub(placeholder, text)
    return text
