"""Projects and people in the pack, on DuckDB and on ClickHouse's engine (chdb): `--by` for
sessions and tool-usage (sessions-by, tool-usage-by), and the project/user/team/model
filters, whose values are the labels `--by` prints. Over the recorded Claude Code sessions
(two of them set team.id=platform) and over a synthetic case with vcs.repository.name and
team.id on logs and metrics: grouped sums equal the ungrouped totals, and a filtered answer
equals the `--by` row of its label.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import stores
from otelcap import querypack
from otelcap.cli import app
from otelcap.storage.duckdb import DuckDBStore

pytest.importorskip("chdb")
from test_queries_golden import assert_same, bench, copy_to_chdb

SESSION_SUMS = [
    "prompts", "api_requests", "api_errors", "input_tokens", "output_tokens",
    "cache_read_tokens", "cache_creation_tokens", "cost_usd", "tool_calls", "tool_failures",
    "rejections",
]  # fmt: skip
METRIC_SUMS = ["active_time_s", "commits", "pull_requests", "lines_added", "lines_removed"]
TOOL_SUMS = ["calls", "succeeded", "failed", "decisions", "rejected", "rejected_by_user"]
FILTERED = [q.name for q in querypack.load_all() if querypack.filters(q)]


def both(stores_: tuple[Any, Any], name: str, values: dict[str, str] | None = None) -> list:
    duck, click = stores_
    a = querypack.run(duck, name, values)
    assert_same(a, querypack.run(click, name, values), f"{name} {values}")
    return a.to_pylist()


def sums(rows: list[dict[str, Any]], cols: list[str]) -> dict[str, float]:
    return {c: sum(r[c] for r in rows) for c in cols}


def assert_sums_close(a: dict[str, float], b: dict[str, float], what: str) -> None:
    for k in a:
        assert math.isclose(a[k], b[k], rel_tol=1e-9, abs_tol=1e-9), (what, k, a[k], b[k])


@pytest.fixture(scope="module")
def recorded(recorded_db: Path) -> Iterator[tuple[DuckDBStore, Any]]:
    duck = DuckDBStore(recorded_db, read_only=True)
    click = copy_to_chdb(duck)
    yield duck, click
    stores.close_chdb_store(click)
    duck.close()


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DuckDBStore, Any]]:
    """Three sessions: acme/api by team platform, acme/web by team data (each with its user),
    one with none of them;
    each with prompts, model calls, tool calls, a rejection and commit/lines metrics."""
    from otelcap.model import to_batches
    from otelcap.sanitize import Sanitizer

    duck = DuckDBStore(tmp_path_factory.mktemp("dims") / "dims.duckdb")
    duck.create_schema()
    t0 = int(dt.datetime(2026, 11, 30, 9, tzinfo=dt.timezone.utc).timestamp() * 1e9)
    minute = 60_000_000_000
    cases = [
        ("s-api", "acme/api", "platform", "uuid-a", "claude-opus-4-5", 1.5, 2),
        ("s-web", "acme/web", "data", "uuid-b", "claude-sonnet-4-5", 0.25, 1),
        ("s-bare", None, None, None, "claude-opus-4-5", 0.5, 0),
    ]
    for n, (session, repo, team, user, model, cost, commits) in enumerate(cases):
        proc = bench.Process(session, "2.1.150", "vscode", bench.DELTA, t0)
        attrs = (("vcs.repository.name", repo), ("team.id", team), ("user.account_uuid", user))
        extra = {k: v for k, v in attrs if v}
        t = t0 + n * 10 * minute
        proc.event(t, "user_prompt", f"p{n}", prompt_length=12, **extra)
        proc.event(t + 1, "api_request", f"p{n}", model=model, cost_usd=cost,
                   input_tokens=10 + n, output_tokens=1, duration_ms=900 + n, **extra)  # fmt: skip
        proc.event(t + 2, "tool_result", f"p{n}", tool_name="Bash", success="true",
                   duration_ms=20 + n, **extra)  # fmt: skip
        proc.event(t + 3, "tool_result", f"p{n}", tool_name="Edit", success="false",
                   duration_ms=5, error_type="ShellError", **extra)  # fmt: skip
        proc.event(t + 4, "tool_decision", f"p{n}", tool_name="Edit", decision="reject",
                   source="user_reject", **extra)  # fmt: skip
        if commits:
            proc.count("claude_code.commit.count", commits, **extra)
        proc.count("claude_code.lines_of_code.count", 10 * (n + 1), type="added", **extra)
        parts = {
            "logs": to_batches("logs", [proc.logs.SerializeToString()]),
            "metrics": to_batches("metrics", [proc.export_metrics(t + 5).SerializeToString()]),
        }
        for conv in parts.values():
            duck.append({k: [b] for k, b in Sanitizer().sanitize(conv.batches).items()})
    click = copy_to_chdb(duck)
    yield duck, click
    click.close()
    duck.close()


# --- --by for sessions and tool-usage ------------------------------------------------------------

BY = querypack.load("sessions-by").param("by").choices
assert querypack.load("tool-usage-by").param("by").choices == BY
assert set(BY) == set(querypack.load("cost").param("by").choices) - {"model"}


@pytest.mark.parametrize("by", BY)
def test_sessions_and_tool_usage_by_any_group_add_up_on_both_engines(
    by: str, recorded: tuple[DuckDBStore, Any]
) -> None:
    grouped = both(recorded, "sessions-by", {"by": by})
    listed = both(recorded, "sessions")
    assert_sums_close(sums(grouped, SESSION_SUMS + METRIC_SUMS),
                      sums(listed, SESSION_SUMS + METRIC_SUMS), f"sessions by {by}")  # fmt: skip
    assert sum(r["sessions"] for r in grouped) >= len(listed)
    groups = {r["model"] for r in grouped}
    cost_groups = {r["model"] for r in both(recorded, "cost", {"by": by})[:-1]}
    assert cost_groups <= groups  # the labels of cost --by (sessions without a request too)
    if by == "team":
        assert groups == {"platform", "(no team.id)"}
    if by == "project":
        assert groups == {"(no repository)"}
    tools = both(recorded, "tool-usage-by", {"by": by})
    per_tool = both(recorded, "tool-usage")
    for tool in per_tool:
        mine = [r for r in tools if r["tool"] == tool["tool"]]
        assert sums(mine, TOOL_SUMS) == {c: tool[c] for c in TOOL_SUMS}, (by, tool["tool"])


def test_sessions_by_project_and_team_over_repositories_on_both_engines(
    synthetic: tuple[DuckDBStore, Any],
) -> None:
    rows = {r["model"]: r for r in both(synthetic, "sessions-by", {"by": "project"})}
    assert set(rows) == {"acme/api", "acme/web", "(no repository)"}
    assert {k: (r["sessions"], r["cost_usd"], r["commits"], r["lines_added"])
            for k, r in rows.items()} == {
        "acme/api": (1, 1.5, 2, 10),
        "acme/web": (1, 0.25, 1, 20),
        "(no repository)": (1, 0.5, 0, 30),
    }  # fmt: skip
    teams = {r["model"]: r["tool_failures"] for r in both(synthetic, "sessions-by", {"by": "team"})}
    assert teams == {"platform": 1, "data": 1, "(no team.id)": 1}
    tools = both(synthetic, "tool-usage-by", {"by": "project"})
    assert {(r["tool"], r["model"], r["calls"], r["rejected"]) for r in tools} == {
        (tool, project, 1, int(tool == "Edit"))
        for tool in ("Bash", "Edit")
        for project in ("acme/api", "acme/web", "(no repository)")
    }


# --- filters ------------------------------------------------------------------------------------


@pytest.mark.parametrize("team", ["platform", "(no team.id)"])
def test_a_team_filter_is_its_by_team_row_on_both_engines(
    team: str, recorded: tuple[DuckDBStore, Any]
) -> None:
    f = {"team": team}
    cost_row = next(r for r in both(recorded, "cost", {"by": "team"}) if r["model"] == team)
    filtered = both(recorded, "cost", f)
    assert math.isclose(filtered[-1]["cost_usd"], cost_row["cost_usd"], rel_tol=1e-12)
    assert math.isclose(filtered[-1]["metric_cost_usd"], cost_row["metric_cost_usd"],
                        rel_tol=1e-12, abs_tol=1e-12)  # fmt: skip
    assert filtered[-1]["requests"] == cost_row["requests"]
    tokens_row = next(r for r in both(recorded, "tokens", {"by": "team"}) if r["model"] == team)
    assert both(recorded, "tokens", f)[-1]["total_tokens"] == tokens_row["total_tokens"]
    group = next(r for r in both(recorded, "sessions-by", {"by": "team"}) if r["model"] == team)
    sessions = both(recorded, "sessions", f)
    assert len(sessions) == group["sessions"]
    assert_sums_close(sums(sessions, SESSION_SUMS + METRIC_SUMS),
                      {c: group[c] for c in SESSION_SUMS + METRIC_SUMS}, team)  # fmt: skip
    tools = [r for r in both(recorded, "tool-usage-by", {"by": "team"}) if r["model"] == team]
    assert {r["tool"]: r["calls"] for r in both(recorded, "tool-usage", f)} == {
        r["tool"]: r["calls"] for r in tools
    }
    spent = both(recorded, "budget", f)[0]
    assert math.isclose(spent["spent_usd"], cost_row["cost_usd"], rel_tol=1e-12)


@pytest.mark.parametrize("name", FILTERED)
def test_every_filter_splits_each_query_on_both_engines(
    name: str, recorded: tuple[DuckDBStore, Any]
) -> None:
    """Each filtered query runs on both engines with every filter it takes; a label that
    matches nothing answers as an empty store does, not with an error."""
    empty = both(recorded, name, {"since": "2200-01-01", "until": "2200-01-02"})
    for key in querypack.filters(querypack.load(name)):
        assert both(recorded, name, {key: "no such label"}) == empty, key
    both(recorded, name, {"team": "platform"})  # a label that matches: same on both engines


def test_project_user_and_model_filters_are_their_by_rows_on_both_engines(
    synthetic: tuple[DuckDBStore, Any],
) -> None:
    for key in ("project", "team", "user", "model"):
        rows = both(synthetic, "cost", {"by": key})[:-1]
        assert len(rows) >= 2, key
        for row in rows:
            label = row["model"]
            total = both(synthetic, "cost", {key: label})[-1]
            assert math.isclose(total["cost_usd"], row["cost_usd"]), (key, label)
            assert math.isclose(total["metric_cost_usd"], row["metric_cost_usd"]), (key, label)
            if key == "model":
                continue
            group = next(
                r for r in both(synthetic, "sessions-by", {"by": key}) if r["model"] == label
            )
            sessions = both(synthetic, "sessions", {key: label})
            assert [s["commits"] for s in sessions] == [group["commits"]], (key, label)
            outcome = both(synthetic, "outcomes", {key: label})[-1]
            assert (outcome["sessions"], outcome["lines_added"]) == (1, group["lines_added"])
    latency = both(synthetic, "api-latency", {"model": "claude-opus-4-5"})
    assert [(r["model"], r["requests"]) for r in latency] == [("claude-opus-4-5", 2)]
    assert both(synthetic, "error-analysis", {"project": "(no repository)"})[-1]["failures"] == 2
    assert both(synthetic, "sessions", {"project": "acme/nothing"}) == []


# --- the command line ---------------------------------------------------------------------------


def test_a_filter_a_query_lacks_is_a_usage_error_naming_its_filters(tmp_path: Path) -> None:
    env = {"OTELCAP_DATA_DIR": str(tmp_path / "data"), "OTELCAP_CONFIG": str(tmp_path / "x")}
    result = CliRunner().invoke(app, ["query", "tool-usage", "--model", "m"], env=env)
    assert result.exit_code == 2, result.output
    assert "tool-usage cannot be filtered by model" in result.output
    assert "--project --user --team" in result.output


def test_list_names_each_querys_filters() -> None:
    listing = querypack.describe_all()
    cost = listing.split("\ncost: ", 1)[1].splitlines()
    assert cost[1].strip() == "filters: --project --user --team --model"
    tools = listing.split("\ntool-usage: ", 1)[1].splitlines()
    assert tools[1].strip() == "filters: --project --user --team"
    assert "--param project" not in listing
    help_text = CliRunner().invoke(app, ["query", "cost", "--help"]).output
    for flag in ("--project", "--user", "--team", "--model"):
        assert flag in help_text
