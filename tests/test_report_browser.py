"""The report in a real browser: Debian's chromium, headless, driven by selenium through
chromedriver (.ci/run installs both with apt-get). One browser for the module.

On a database filled from every recording: the page loads with no console error (a blocked
script or style, a CSP violation, a JavaScript error all land there), requests nothing
beyond itself, renders every view with content, shows the cost `otelcap query cost` prints
and Claude Code itself reported, links an error sample through to its session page, shows
times in the viewer's zone, and renders with the network off. A screenshot of each view,
wide and light and narrow and dark, is kept in the test's temporary directory
(report-shots*/, or OTELCAP_TEST_SHOTS; the path is printed).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import recordings
from otelcap import querypack, report
from otelcap.cli import app
from otelcap.storage.duckdb import DuckDBStore

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.chrome.service import Service as DriverService  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402

NOW = dt.datetime(2026, 11, 28, 12, 0)  # the recordings ran on 2026-11-27, 22:08-22:13 UTC
SINCE = "2026-11-01"
ZONE = "Asia/Kolkata"  # UTC+05:30: a half-hour offset shows a time formatted in UTC at once
VIEWS = ["overview", "cost", "sessions", "tools", "errors", "anomalies"]
CHARTS = {"overview": 1, "cost": 2, "tools": 3, "errors": 1, "anomalies": 1}  # uPlot canvases
INSTALL = "apt-get install -y chromium chromium-driver (as .ci/run does)"


def _write(db: Path, path: Path) -> Path:
    with contextlib.closing(DuckDBStore(db, read_only=True)) as store:
        return report.build(
            lambda name, values: querypack.run(store, name, values),
            path,
            SINCE,
            now=NOW,
            tz=dt.timezone.utc,
        )


@pytest.fixture(scope="module")
def page(recorded_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write(recorded_db, tmp_path_factory.mktemp("report") / "report.html")


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # pytest keeps the last 3 temporary trees: OTELCAP_TEST_SHOTS=DIR keeps them longer
    keep = os.environ.get("OTELCAP_TEST_SHOTS")
    path = Path(keep) if keep else tmp_path_factory.mktemp("report-shots")
    path.mkdir(parents=True, exist_ok=True)
    print(f"\nreport screenshots: {path}")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and chromedriver):
        pytest.fail(f"the browser tests need chromium and chromedriver: {INSTALL}")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--hide-scrollbars", "--window-size=1280,800"):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # chromedriver starts chromium with its own environment: the viewer's time zone
    service = DriverService(chromedriver, env={**os.environ, "TZ": ZONE})
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _data(page: Path) -> dict[str, Any]:
    blob = page.read_text().split('id="otelcap-data">')[1].split("</script>")[0]
    data: dict[str, Any] = json.loads(blob)
    return data


def _charts(page: Path, view: str) -> int:
    """The charts a view draws: those of CHARTS, and in anomalies one per metric the pack's
    anomalies query judged (when this otelcap's pack has it) and one for 5-hour blocks."""
    data = _data(page)
    extra = 0
    if view == "anomalies" and data["anomalies"]:
        metric = data["anomalies"]["columns"].index("metric")
        extra = len({row[metric] for row in data["anomalies"]["rows"]})
    if view == "cost" and data["blocks"] and data["blocks"]["rows"]:
        extra = 1
    return CHARTS.get(view, 0) + extra


def _open(driver: Any, page: Path, view: str = "overview") -> None:
    """Load the page afresh at #view and wait until the script says it drew that view."""
    driver.get("about:blank")  # the same URL again would only be a jump to its #fragment
    driver.get(page.as_uri() + "#" + view)
    rendered = view.split("/")[0]
    script = "return document.getElementById('app').dataset.rendered"
    try:
        WebDriverWait(driver, 10).until(lambda d: d.execute_script(script) == rendered)
    except TimeoutException:
        body = driver.find_element(By.TAG_NAME, "body").text[:500]
        raise AssertionError(f"#{view} did not render; the page shows: {body}") from None


def _errors(driver: Any) -> list[dict[str, Any]]:
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]


def _screenshot(driver: Any, path: Path, width: int, scheme: str) -> None:
    """The whole page (up to 4,000 px tall) at this width and colour scheme."""
    full = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": min(full, 4000), "deviceScaleFactor": 1, "mobile": False},
    )
    driver.save_screenshot(str(path))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def _scheme(driver: Any, scheme: str) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
    )


def test_loads_without_console_errors_and_requests_nothing(browser: Any, page: Path) -> None:
    browser.get_log("browser")  # drop what came before
    for view in VIEWS:
        _open(browser, page, view)
    assert _errors(browser) == []
    # nothing fetched: no script, style, font, image or XHR beyond the file itself
    entries = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert [u for u in entries if not u.startswith(("data:", "file:"))] == []
    assert entries == []


@pytest.mark.parametrize("view", VIEWS)
def test_each_view_renders_with_content(browser: Any, page: Path, shots: Path, view: str) -> None:
    for width, height, scheme in ((1280, 800, "light"), (420, 800, "dark")):
        _scheme(browser, scheme)
        browser.set_window_size(width, height)
        _open(browser, page, view)
        section = browser.find_element(By.CSS_SELECTOR, f"#view-{view}.active")
        canvases = section.find_elements(By.CSS_SELECTOR, ".chart canvas")
        assert len(canvases) == _charts(page, view), view
        for canvas in canvases:
            w, h = canvas.get_property("width"), canvas.get_property("height")
            assert w > 0 and h > 0, (view, w, h)
            assert canvas.size["width"] <= width, "a chart wider than the window"
        rows = section.find_elements(By.CSS_SELECTOR, "tbody tr")
        cards = section.find_elements(By.CSS_SELECTOR, ".card")
        assert rows or cards, f"{view}: no table rows and no figures"
        if view != "overview":
            assert rows, f"{view}: its table is empty"
        # nothing wider than the window but the tables, which scroll in their own box
        overflow = browser.execute_script("return document.documentElement.scrollWidth")
        assert overflow <= width, f"{view} at {width}px scrolls sideways ({overflow}px)"
        _screenshot(browser, shots / f"{view}-{width}-{scheme}.png", width, scheme)
    _scheme(browser, "light")
    browser.set_window_size(1280, 800)
    assert _errors(browser) == []


def test_charts_follow_the_window_width(browser: Any, page: Path) -> None:
    _open(browser, page, "cost")
    wide = browser.find_element(By.CSS_SELECTOR, "#view-cost .chart canvas").size["width"]
    browser.set_window_size(500, 800)
    try:
        WebDriverWait(browser, 5).until(
            lambda d: (
                d.find_element(By.CSS_SELECTOR, "#view-cost .chart canvas").size["width"] < 500
            )
        )
    finally:
        browser.set_window_size(1280, 800)
    assert wide > 1000


def _cli_json(args: list[str], db: Path, tmp: Path) -> list[dict[str, Any]]:
    env = {"OTELCAP_DATA_DIR": str(tmp / "data"), "OTELCAP_CONFIG": str(tmp / "none")}
    out = CliRunner().invoke(app, [*args, "--format", "json", "--db", str(db)], env=env)
    assert out.exit_code == 0, out.output
    rows: list[dict[str, Any]] = json.loads(out.stdout)
    return rows


def test_cost_shown_is_otelcap_query_cost_and_claude_codes_own(
    browser: Any, page: Path, recorded_db: Path, tmp_path: Path
) -> None:
    _open(browser, page, "overview")
    card = browser.find_element(By.CSS_SELECTOR, '[data-kpi="period-cost"]')
    shown = float(card.get_attribute("data-value"))
    until = NOW.isoformat() + "Z"
    rows = _cli_json(["query", "cost", "--since", SINCE, "--until", until], recorded_db, tmp_path)
    assert rows[-1]["model"] == "total"
    assert shown == rows[-1]["cost_usd"]
    assert card.find_element(By.CLASS_NAME, "value").text == f"${shown:,.2f}"
    # Claude Code's own total_cost_usd: the last result of each session (a --continue
    # process reports running totals that include the earlier one)
    last: dict[str, float] = {}
    for scenario in recordings.scenarios():
        for result in recordings.results(scenario):
            last[result["session_id"]] = result["total_cost_usd"]
    assert shown == pytest.approx(sum(last.values()), abs=1e-6)
    assert shown > 1  # the recordings spent a few dollars: not a vacuous zero


def test_session_cost_and_times_are_the_sessions_query_in_local_time(
    browser: Any, page: Path, recorded_db: Path, tmp_path: Path
) -> None:
    rows = _cli_json(["query", "sessions", "--since", SINCE], recorded_db, tmp_path)
    row = max(rows, key=lambda r: r["cost_usd"])
    _open(browser, page, "session/" + row["session_id"])
    cost = browser.find_element(By.CSS_SELECTOR, '[data-kpi="session-cost"]')
    assert float(cost.get_attribute("data-value")) == row["cost_usd"]
    started = dt.datetime.fromisoformat(row["started"].replace("Z", "+00:00"))
    local = started + dt.timedelta(hours=5, minutes=30)  # Asia/Kolkata has no DST
    header = browser.find_element(By.ID, "top").text
    assert "(UTC+05:30)" in header  # ICU may name the zone Asia/Calcutta
    card = browser.find_element(By.XPATH, "//div[@class='card'][div[@class='label']='Started']")
    hour = local.strftime("%I:%M:%S").lstrip("0")  # en-US in headless chromium: 3:38:48 AM
    assert hour in card.text, (card.text, local)


def test_an_error_sample_links_to_its_session_page(browser: Any, page: Path) -> None:
    _open(browser, page, "errors")
    link = browser.find_element(By.CSS_SELECTOR, ".sample-link")
    session, prompt = link.get_attribute("href").split("#session/")[1].split("/")
    link.click()
    # the page routes on hashchange, an event after the click: wait for the session's turn
    WebDriverWait(browser, 10).until(
        lambda d: d.find_elements(
            By.CSS_SELECTOR, f'#view-session.active .turn[data-prompt="{prompt}"]'
        )
    )
    assert browser.execute_script("return document.getElementById('app').dataset.rendered") == (
        "session"
    )
    view = browser.find_element(By.CSS_SELECTOR, "#view-session.active")
    assert view.find_element(By.CSS_SELECTOR, "[data-session]").text == session
    turn = view.find_element(By.CSS_SELECTOR, f'.turn[data-prompt="{prompt}"]')
    assert "focus" in turn.get_attribute("class")
    failure = turn.find_element(By.CSS_SELECTOR, "tr.failure")
    assert "(first)" in failure.text  # the failure the sample was drawn for, at its step
    assert turn.find_element(By.CSS_SELECTOR, ".head .badge.bad").text.startswith("first failure:")
    assert _errors(browser) == []


def test_a_session_with_spans_draws_its_waterfall_and_one_without_says_why(
    browser: Any, page: Path, recorded_db: Path
) -> None:
    with contextlib.closing(DuckDBStore(recorded_db, read_only=True)) as store:
        traced = set(querypack.run(store, "session-spans").column("session_id").to_pylist())
        every = querypack.run(store, "sessions").column("session_id").to_pylist()
    detailed = _data(page)["details"]
    with_spans = next(s for s in every if s in traced and s in detailed)
    without = next(s for s in every if s not in traced and s in detailed)
    _open(browser, page, "session/" + with_spans)
    bars = browser.find_elements(By.CSS_SELECTOR, "#view-session .wf-bar")
    assert bars and all(b.size["width"] >= 1 for b in bars)
    _open(browser, page, "session/" + without)
    assert (
        "CLAUDE_CODE_ENHANCED_TELEMETRY_BETA=1"
        in browser.find_element(By.CSS_SELECTOR, "#view-session .empty").text
    )


def test_sessions_search_and_sort(browser: Any, page: Path) -> None:
    _open(browser, page, "sessions")
    rows = browser.find_elements(By.CSS_SELECTOR, "#view-sessions tbody tr")
    first_id = rows[0].find_element(By.TAG_NAME, "code").text
    box = browser.find_element(By.CSS_SELECTOR, "#view-sessions input[type=search]")
    box.send_keys(first_id)
    left = browser.find_elements(By.CSS_SELECTOR, "#view-sessions tbody tr")
    assert len(left) == 1 and left[0].find_element(By.TAG_NAME, "code").text == first_id
    box.clear()
    box.send_keys(" ")  # an input event with an empty search: every row again
    assert len(browser.find_elements(By.CSS_SELECTOR, "#view-sessions tbody tr")) == len(rows)
    cost = browser.find_element(By.XPATH, "//section[@id='view-sessions']//th[text()='Cost']")
    cost.click()  # most expensive first
    heads = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "#view-sessions thead th")]
    nth = heads.index("Cost") + 1
    cells = browser.find_elements(By.CSS_SELECTOR, f"#view-sessions tbody tr td:nth-child({nth})")
    values = [float(c.text.lstrip("$").replace(",", "")) for c in cells]
    assert values == sorted(values, reverse=True) and values[0] > values[-1]
    # the columns the sessions view promises, project and version among them
    for name in ("Project", "Version", "Duration", "Cost", "Tool calls", "Failures", "Outcome"):
        assert name in heads, heads
    projects = browser.find_elements(
        By.CSS_SELECTOR, f"#view-sessions tbody tr td:nth-child({heads.index('Project') + 1})"
    )
    assert {c.text for c in projects} == {"(no repository)"}  # the recordings name none


def test_renders_with_the_network_off(browser: Any, page: Path) -> None:
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0},
    )
    try:
        browser.get_log("browser")
        for view in VIEWS:
            _open(browser, page, view)
            assert browser.find_elements(By.CSS_SELECTOR, f"#view-{view}.active > *"), view
        _open(browser, page, "cost")
        charts = browser.find_elements(By.CSS_SELECTOR, "#view-cost .chart canvas")
        assert len(charts) == _charts(page, "cost") >= 2
        assert _errors(browser) == []
    finally:
        browser.execute_cdp_cmd(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )


def test_an_empty_database_says_what_to_switch_on(
    browser: Any, tmp_path: Path, shots: Path
) -> None:
    db = tmp_path / "empty.duckdb"
    store = DuckDBStore(db)
    store.create_schema()
    store.close()
    empty = _write(db, tmp_path / "empty.html")
    browser.get_log("browser")
    for view in VIEWS:
        _open(browser, empty, view)
    _open(browser, empty, "overview")
    text = browser.find_element(By.CSS_SELECTOR, "#view-overview .empty").text
    assert "No Claude Code telemetry" in text and "CLAUDE_CODE_ENABLE_TELEMETRY=1" in text
    assert "otelcap setup claude --write" in text
    _screenshot(browser, shots / "empty-overview-1280-light.png", 1280, "light")
    assert _errors(browser) == []


def test_days_are_those_of_the_zone_the_report_was_written_in(
    browser: Any, recorded_db: Path, tmp_path: Path
) -> None:
    """Written in Kolkata, the recordings' evening of 27 Nov UTC is 28 Nov: the per-day table
    says so and names the zone."""
    from zoneinfo import ZoneInfo

    with contextlib.closing(DuckDBStore(recorded_db, read_only=True)) as store:
        written = report.build(
            lambda name, values: querypack.run(store, name, values),
            tmp_path / "kolkata.html",
            SINCE,
            now=NOW,
            tz=ZoneInfo(ZONE),
        )
    assert _data(written)["meta"]["tz"] == ZONE
    _open(browser, written, "cost")
    seen = browser.execute_script(
        """
        const t = document.querySelector('#view-cost details.perday table');
        return {head: t.querySelector('thead th').textContent,
                days: [...t.querySelectorAll('tbody tr')].map((r) => r.cells[0].textContent)};
        """
    )
    assert seen["head"].startswith(f"Day ({ZONE})"), seen
    assert [d for d in seen["days"] if d.strip()] == ["2026-11-28"], seen
    assert _errors(browser) == []


def test_budget_cards_warn_and_project_as_otelcap_budget_does(
    browser: Any, recorded_db: Path, tmp_path: Path, shots: Path
) -> None:
    """With limits set, the overview shows each limited period's spend, status and projection
    as `otelcap budget` computes them at the report's now: the recordings' $4.35 on 27 Nov
    (UTC) is nothing of 28 Nov's day, 87 % of a $5 week (warning at 80 %) and over a $4
    month."""
    from conftest import make_config
    from otelcap.ops import budget

    limits = {"daily": 1.0, "weekly": 5.0, "monthly": 4.0}
    with contextlib.closing(DuckDBStore(recorded_db, read_only=True)) as store:
        written = report.build(
            lambda name, values: querypack.run(store, name, values),
            tmp_path / "budget.html",
            SINCE,
            now=NOW,
            tz=dt.timezone.utc,
            limits=limits,
        )
    cfg = make_config(
        tmp_path, db_path=recorded_db, **{f"budget_{k}": v for k, v in limits.items()}
    )
    want = budget.status(cfg, NOW.replace(tzinfo=dt.timezone.utc))
    assert [p.status for p in want.periods] == ["ok", "warning_80", "over"]
    _open(browser, written, "overview")
    cards = browser.execute_script(
        """
        return [...document.querySelectorAll('[data-budget]')].map((c) => ({
          period: c.dataset.budget, status: c.dataset.status, value: Number(c.dataset.value),
          text: c.textContent}));
        """
    )
    assert [c["period"] for c in cards] == ["day", "week", "month"]
    for card, p in zip(cards, want.periods, strict=True):
        assert card["status"] == p.status
        assert card["value"] == pytest.approx(p.spent_usd, abs=1e-9)
        assert f"${p.projected_usd:,.2f} by its end" in card["text"], card
    assert "over the limit" in cards[2]["text"] and "80 % used" in cards[1]["text"]
    text = browser.execute_script("return document.body.innerText")
    assert "[object" not in text and "null" not in text and "undefined" not in text
    _screenshot(browser, shots / "overview-budget-1280-light.png", 1280, "light")
    # no limits: the page says how to set them
    with contextlib.closing(DuckDBStore(recorded_db, read_only=True)) as store:
        unset = report.build(
            lambda name, values: querypack.run(store, name, values),
            tmp_path / "unset.html",
            SINCE,
            now=NOW,
            tz=dt.timezone.utc,
            limits={},
        )
    _open(browser, unset, "overview")
    said = browser.execute_script(
        "return [...document.querySelectorAll('[data-budget]')].map((c) => c.dataset.budget)"
    )
    assert said == ["none"]
    assert "otelcap budget set --daily 20" in browser.find_element(By.ID, "view-overview").text
    assert _errors(browser) == []


def test_active_users_are_the_users_of_otelcap_query_cost_by_user(
    browser: Any, page: Path, recorded_db: Path, tmp_path: Path
) -> None:
    args = ["query", "cost", "--by", "user", "--since", SINCE, "--until", NOW.isoformat()]
    rows = _cli_json(args, recorded_db, tmp_path)
    users = {r["user"] for r in rows if r["user"] not in ("(no user)", "total", "")}
    assert users  # the recordings carry user.account_uuid
    _open(browser, page, "overview")
    shown = browser.execute_script(
        "return Number(document.querySelector('[data-kpi=\"users\"]').dataset.value)"
    )
    assert shown == len(users)
