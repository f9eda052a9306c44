"""The pattern rules on their own: each rule's example, then tables of strings that must be
replaced and strings that must pass unchanged (ids, versions, numbers, times)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from otelcap.sanitize.rules import PATTERN_RULES, PatternRule, redact_array, redact_text

PLANTED_PROMPT = (
    "Please save my contact details for the on-call sheet: email jane.doe@example.com, "
    "phone +1 (415) 555-0134, our Anthropic key sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
    "-_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKlMnOpQrStUvWxYz01-2345678AA and the AWS "
    "access key id AKIAIOSFODNN7EXAMPLE. Echo the email and phone, then write everything to "
    "contact.txt."
)


@pytest.mark.parametrize("rule", PATTERN_RULES, ids=lambda r: r.name)
def test_rule_example_alone_and_in_the_whole_table(rule: PatternRule) -> None:
    alone = pc.replace_substring_regex(pa.array([rule.example]), rule.pattern, rule.placeholder)
    assert alone[0].as_py() == rule.result
    assert redact_text(rule.example) == rule.result


SECRETS = [
    # (text, expected)
    ("key sk-ant-api03-AbCdEf_GhIjKlMnOpQrStUvWx", "key <secret:anthropic>"),
    (
        "ANTHROPIC_API_KEY=sk-ant-admin01-abcdefghijklmnopqrstuvwx",
        "ANTHROPIC_API_KEY=<secret:anthropic>",
    ),
    ("sk-proj-" + "Ab1_-" * 20, "<secret:openai>"),
    ("sk-svcacct-" + "x" * 40, "<secret:openai>"),
    ("sk-" + "a" * 20 + "T3BlbkFJ" + "b" * 20, "<secret:openai>"),
    ("AKIAIOSFODNN7EXAMPLE", "<secret:aws>"),
    ("id=ASIAY34FZKBOKMUTVV7A,", "id=<secret:aws>,"),
    ("\\naws=AKIAIOSFODNN7EXAMPLE\\n", "\\naws=<secret:aws>\\n"),  # inside escaped JSON
    (
        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS_SECRET_ACCESS_KEY=<secret:aws>",
    ),
    (
        '{"aws_secret_access_key":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}',
        '{"aws_secret_access_key":"<secret:aws>"}',
    ),
    ("ghp_" + "A1b2" * 9, "<secret:github>"),
    ("gho_" + "z" * 36, "<secret:github>"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "<secret:github>"),
    ("glpat-xxxxXXXXxxxxXXXX1234", "<secret:gitlab>"),
    ("xoxb-123456789012-1234567890123-AbCdEfGhIjKl", "<secret:slack>"),
    ("xoxp-1-2-3-abcdefabcdef", "<secret:slack>"),
    ("token eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl here", "token <secret:jwt> here"),
    ("Authorization: Bearer abc.def-ghi_jkl~mno", "Authorization: Bearer <secret:bearer>"),
    (
        "curl -H 'authorization: bearer 0123456789abcdef'",
        "curl -H 'authorization: bearer <secret:bearer>'",
    ),
    ("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----", "<secret:private-key>"),
    ("x -----BEGIN EC PRIVATE KEY-----\nMHcCAQEE (truncated", "x <secret:private-key>"),
    ("postgres://app:hunter2@db:5432/x", "postgres://app:<secret:password>@db:5432/x"),
    ("https://user:p%40ss@example.org/", "https://user:<secret:password>@example.org/"),
    ("password=hunter2", "password=<secret:assignment>"),
    ("export GITHUB_TOKEN=abcdef123456", "export GITHUB_TOKEN=<secret:assignment>"),
    ('{"password": "hunter2"}', '{"password": "<secret:assignment>"}'),
    ('\\"client_secret\\":\\"s3cr3tvalue\\"', '\\"client_secret\\":\\"<secret:assignment>\\"'),
    ("api_key: abc123xyz", "api_key: <secret:assignment>"),
    ("mysql --password=Tr0ub4dor&3", "mysql --password=<secret:assignment>&3"),
    # emails
    ("jane.doe@example.com", "<email>"),
    ("mailto:J.Doe+tag@mail.example.co.uk>", "mailto:<email>>"),
    ("user@sub-domain.example.io wrote", "<email> wrote"),
    # phones
    ("+1 (415) 555-0134", "<phone>"),
    ("call +44 20 7946 0958 now", "call <phone> now"),
    ("+33 6 12 34 56 78", "<phone>"),
    ("+4915112345678", "<phone>"),
    ("tel:+1-415-555-0134", "tel:<phone>"),
    ("(415) 555-0134", "<phone>"),
    ("(415)555-0134", "<phone>"),
    ("415-555-0134", "<phone>"),
    ("415.555.0134", "<phone>"),
]


@pytest.mark.parametrize(("text", "expected"), SECRETS)
def test_secrets_emails_and_phones_are_replaced(text: str, expected: str) -> None:
    assert redact_text(text) == expected
    assert redact_text(expected) == expected  # placeholders are left alone (idempotent)


NOT_SECRET = [
    "eb2b6c0d061bbd5caa545b6d1184a1887b11dba0b1d7fd8ca5b42ebf0ad7d3a8",  # user.id
    "04e9dcde-1679-4802-8f0b-2a2108745309",  # UUIDs
    "F8A45EF2-BFA3-4E4D-B973-6B964F5B51EF",
    "toolu_010f03c2081d73413582f8f4",
    "toolu_01A09q90qw90lq917835lq9",
    "req_mock_f0f2893204344fe6ab4b",
    "req_011CUGrjqGWcBDYoqi8fhtBn",
    "msg_0110a57f0818f74c2aae05a1",
    "a11840ef5698fcde9",  # agent_id
    "259438d5184fe3d0a2894376ad19fc5dadfaf454",  # git sha
    "claude-sonnet-4-5-20250929",
    "claude-opus-4-1-20250805",
    "claude-3-5-haiku-20241022",
    "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "notes.txt",
    "contact.txt",
    "archive.tar.gz",
    "/home/dev/demo-repo/src/app.test.ts",
    "2.1.332",
    "6.8.0-generic",
    "v1.2.3-beta.4",
    "@anthropic-ai/claude-code@2.1.332",
    "0",
    "42",
    "23375",
    "-17",
    "0.009704850000000001",
    "1e+10",
    "3.5e-07",
    "1,234,567,890",
    "1795817437570016600",  # epoch ns
    "1795817437",
    "1795817437570",
    "2026-11-27T22:08:48.403Z",
    "2026-11-27T22:08:48.403+05:30",
    "2026-11-27 22:08:48",
    "05.11.2026",
    "27/11/2026",
    "12:34:56.789",
    "+00:00",
    "127.0.0.1",
    "192.168.100.200",
    "10.0.0.1:4317",
    "http://127.0.0.1:4318/v1/logs",
    "duration 1626 ms, 23375 tokens, +1234 lines",
    "x=+12345",
    "tools: 10 20 30 40",
    "cc-1234",
    "PostToolUse:Bash",
    "Overloaded (mock)",
    "(529) retrying",
    "input_tokens=23375",
    "max_tokens: 4096",
    "token_count=5",
    "a tokenizer: 1234",
    "Authorization=Bearer token",
    "task-0123456789abcdef0123456789abcdef",
    "git@github",
    "npm i left-pad@1.3.0",
    "[]",
    '["end_turn"]',
    "<REDACTED>",
    "",
    "File does not exist. Note: your current working directory is /home/dev/demo-repo.",
    "Shell command failed",
    "TelemetrySafeError",
    "sk-learn is a package",
]


@pytest.mark.parametrize("text", NOT_SECRET)
def test_ids_versions_numbers_and_times_pass_unchanged(text: str) -> None:
    assert redact_text(text) == text


def test_the_planted_prompt_keeps_only_its_harmless_words() -> None:
    assert redact_text(PLANTED_PROMPT) == (
        "Please save my contact details for the on-call sheet: email <email>, phone <phone>, "
        "our Anthropic key <secret:anthropic> and the AWS access key id <secret:aws>. Echo the "
        "email and phone, then write everything to contact.txt."
    )


def test_redact_array_keeps_nulls_positions_and_length() -> None:
    arr = pa.array(["a@b.example", None, "plain", "a@b.example", ""])
    assert redact_array(arr).to_pylist() == ["<email>", None, "plain", "<email>", ""]
    assert redact_array(arr.slice(2)).to_pylist() == ["plain", "<email>", ""]
    assert redact_array(pa.array([], pa.string())).to_pylist() == []


EDGES = [
    "a@b.cc-d@e.ff",  # a second email right after the first one's end
    "x@y.zz@w.qq",
    "key=" + "A" * 300 + "@example.com",
    "line one\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n",  # truncated: \z
    "pass\vword=hunter2",
    "GET /v1/logs?key=sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx-Yz01&u=jane@example.com HTTP/1.1",
]


@pytest.mark.parametrize(
    "text",
    [r.example for r in PATTERN_RULES]
    + [t for t, _ in SECRETS]
    + [e for _, e in SECRETS]
    + NOT_SECRET
    + [PLANTED_PROMPT]
    + EDGES,
)
def test_the_python_twin_for_log_lines_equals_the_arrow_rules(text: str) -> None:
    """logfmt masks log lines with redact_line (Python's re, compiled once); it must replace
    exactly what the sanitizer's RE2 rules replace."""
    from otelcap.sanitize.rules import redact_line

    assert redact_line(text) == redact_text(text)


def _table_strings() -> list[str]:
    """Every string of the tables above, each alone and a few glued together."""
    texts = [t for t, _ in SECRETS] + NOT_SECRET + [r.example for r in PATTERN_RULES]
    texts += [PLANTED_PROMPT, *EDGES]
    return texts + [" ".join(texts[i : i + 3]) for i in range(0, len(texts), 3)]


def test_a_small_array_is_matched_without_compiling_per_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Arrow's regex kernels compile their pattern on every call (58% of sanitizing a small
    round): a small array is matched by patterns compiled once, and Arrow compiles only the
    rewrites of rules that found something."""
    from otelcap.sanitize import rules

    rewrites: list[str] = []
    real_replace = pc.replace_substring_regex

    def no_match_kernel(*_a: object, **_k: object) -> None:
        raise AssertionError("pc.match_substring_regex compiled a pattern for a small array")

    def counted_replace(arr: pa.Array, pattern: str, replacement: str) -> pa.Array:
        rewrites.append(pattern)
        return real_replace(arr, pattern, replacement)

    monkeypatch.setattr(rules.pc, "match_substring_regex", no_match_kernel)
    monkeypatch.setattr(rules.pc, "replace_substring_regex", counted_replace)
    arr = pa.array(["mail jane.doe@example.com today", "plain", None, "v2.1.332"])
    assert redact_array(arr).to_pylist() == ["mail <email> today", "plain", None, "v2.1.332"]
    assert rewrites == [r.pattern for r in PATTERN_RULES if r.name == "email"]


def test_compiled_once_and_arrow_kernels_give_the_same_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from otelcap.sanitize import rules

    # Non-ASCII text too: the compiled pattern reads the values' UTF-8 bytes.
    texts = [*_table_strings(), "müller jürgen.müller@example.com ü", "ключ +49 30 1234567 ж"]
    words = pa.array(texts)
    for pattern in [rules.ANY_PATTERN, *(r.pattern for r in PATTERN_RULES)]:
        assert rules.matches(words, pattern).to_pylist() == (
            pc.match_substring_regex(words, pattern).to_pylist()
        )
    small = [redact_text(t) for t in texts]  # one value at a time: patterns compiled once
    whole = redact_array(words).to_pylist()
    monkeypatch.setattr(rules, "COMPILED_MAX_VALUES", 0)  # every array through Arrow's kernels
    arrow = redact_array(words).to_pylist()
    assert small == whole == arrow
    assert sum(a != b for a, b in zip(texts, arrow, strict=True)) > len(SECRETS)  # it redacts
