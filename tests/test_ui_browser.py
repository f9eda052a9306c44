"""The served dashboard in a real browser: headless chromium through selenium (the helpers of
tests/test_report_browser.py), against a real otelcap Service on a copy of the recordings'
database. One server and one browser for the module.

Signed in through a link of `otelcap ui`'s kind: the page loads with no console error (a CSP
violation lands there), fetches nothing from another origin, cannot read its cookie, draws
every view with content, shows the cost `otelcap query cost` prints, links an errors sample to
its session page (fetched when opened), and, with the page open, shows a new number when the
server stores another recorded request, without a reload. Screenshots of each view land in
the test's temporary directory (ui-shots*/, or OTELCAP_TEST_SHOTS; the path is printed).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import recordings
import test_report_browser as report_browser
from conftest import make_config
from otelcap.service import Service
from test_report_browser import VIEWS, _errors, _scheme, _screenshot

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402

SINCE = "2026-11-01"  # the recordings ran on 2026-11-27
CHARTS = {"overview": 1, "cost": 2, "tools": 3, "errors": 1}  # at least this many canvases

# one chromium for the module: test_report_browser's fixture, under the same name
browser = report_browser.browser


@pytest.fixture(scope="module")
def served(recorded_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("ui")
    db = tmp / "recorded.duckdb"
    shutil.copy(recorded_db, db)
    svc = Service(make_config(tmp, db_path=db))
    svc.dashboard.poll_s = 0.5  # the live test waits for one poll, not POLL_S
    svc.start()
    try:
        yield svc
    finally:
        svc.stop()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    keep = os.environ.get("OTELCAP_TEST_SHOTS")
    path = Path(keep) if keep else tmp_path_factory.mktemp("ui-shots")
    path.mkdir(parents=True, exist_ok=True)
    print(f"\nui screenshots: {path}")
    return path


@pytest.fixture(scope="module")
def origin(served: Service, browser: Any) -> str:
    """Signed in: the browser followed a fresh link and holds the cookie."""
    url = served.dashboard.ticket_url()
    browser.get(url)
    base = f"http://127.0.0.1:{served.dashboard.port}"
    assert browser.current_url == base + "/"  # redirected, the ticket gone from the URL
    return base


def _rendered(driver: Any) -> Any:
    return driver.execute_script("return document.getElementById('app').dataset.rendered")


def _open(driver: Any, origin: str, view: str = "overview", query: str = f"since={SINCE}") -> None:
    driver.get("about:blank")
    driver.get(f"{origin}/?{query}#{view}")
    want = view.split("/")[0]
    try:
        WebDriverWait(driver, 30).until(lambda d: _rendered(d) == want)
    except TimeoutException:
        body = driver.find_element(By.TAG_NAME, "body").text[:500]
        raise AssertionError(f"#{view} did not render; the page shows: {body}") from None


def test_loads_without_console_errors_nothing_from_elsewhere_and_no_readable_cookie(
    browser: Any, origin: str
) -> None:
    browser.get_log("browser")
    for view in VIEWS:
        _open(browser, origin, view)
    assert _errors(browser) == []
    entries = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert entries, "the served page fetches its assets and data"
    assert [u for u in entries if not u.startswith(origin + "/")] == []
    assert any("/api/data?" in u for u in entries)
    assert browser.execute_script("return document.cookie") == ""  # HttpOnly


def test_each_view_renders_with_content(browser: Any, origin: str, shots: Path) -> None:
    for view in VIEWS:
        for width, scheme in ((1280, "light"), (420, "dark")):
            _scheme(browser, scheme)
            browser.set_window_size(width, 800)
            _open(browser, origin, view)
            section = browser.find_element(By.CSS_SELECTOR, f"#view-{view}.active")
            canvases = section.find_elements(By.CSS_SELECTOR, ".chart canvas")
            assert len(canvases) >= CHARTS.get(view, 0), view
            assert all(c.get_property("width") > 0 for c in canvases), view
            rows = section.find_elements(By.CSS_SELECTOR, "tbody tr")
            cards = section.find_elements(By.CSS_SELECTOR, ".card")
            assert rows or cards, f"{view}: no table rows and no figures"
            _screenshot(browser, shots / f"ui-{view}-{width}-{scheme}.png", width, scheme)
    _scheme(browser, "light")
    browser.set_window_size(1280, 800)
    assert _errors(browser) == []


def test_cost_shown_is_otelcap_query_cost(
    browser: Any, origin: str, served: Service, tmp_path: Path
) -> None:
    _open(browser, origin, "overview")
    card = browser.find_element(By.CSS_SELECTOR, '[data-kpi="period-cost"]')
    shown = float(card.get_attribute("data-value"))
    # the page's period: since, and the moment the data was gathered
    until = browser.find_elements(By.CSS_SELECTOR, "#top .sub time")[1].get_attribute("datetime")
    env = {"OTELCAP_DATA_DIR": str(served.config.data_dir), "OTELCAP_CONFIG": str(tmp_path / "no")}
    rows = _cli_json_server(["query", "cost", "--since", SINCE, "--until", until], env)
    assert rows[-1]["model"] == "total"
    assert shown == rows[-1]["cost_usd"] > 1
    assert card.find_element(By.CLASS_NAME, "value").text == f"${shown:,.2f}"


def _cli_json_server(args: list[str], env: dict[str, str]) -> list[dict[str, Any]]:
    """`otelcap … --format json` through the running server (its data directory's record)."""
    import json

    from typer.testing import CliRunner

    from otelcap.cli import app

    out = CliRunner().invoke(app, [*args, "--format", "json"], env=env)
    assert out.exit_code == 0, out.output
    rows: list[dict[str, Any]] = json.loads(out.stdout)
    return rows


def test_an_error_sample_opens_its_session_page(browser: Any, origin: str, shots: Path) -> None:
    _open(browser, origin, "errors")
    link = browser.find_element(By.CSS_SELECTOR, ".sample-link")
    session, prompt = link.get_attribute("href").split("#session/")[1].split("/")
    link.click()
    # the served page fetches the session's page when it is opened
    WebDriverWait(browser, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, f'#view-session .turn[data-prompt="{prompt}"]')
    )
    view = browser.find_element(By.CSS_SELECTOR, "#view-session.active")
    assert view.find_element(By.CSS_SELECTOR, "[data-session]").text == session
    turn = view.find_element(By.CSS_SELECTOR, f'.turn[data-prompt="{prompt}"]')
    assert "focus" in turn.get_attribute("class")
    assert "(first)" in turn.find_element(By.CSS_SELECTOR, "tr.failure").text
    _screenshot(browser, shots / "ui-session-1280-light.png", 1280, "light")
    assert _errors(browser) == []


def _kpi(browser: Any, card: str) -> float:
    """A card's value read inside the page in one step: the page redraws its cards when an
    answer arrives, so an element found first can be gone when its attribute is read."""
    return float(browser.execute_script(f"return document.querySelector('{card}').dataset.value"))


def test_the_page_refreshes_itself_when_the_server_stores_more(
    browser: Any, origin: str, served: Service
) -> None:
    _open(browser, origin, "overview")
    browser.execute_script("window.notReloaded = true")
    card = '[data-kpi="period-cost"]'
    before = _kpi(browser, card)
    # one more recorded api_request batch: the same records again, so the cost grows
    scenario = recordings.scenarios()[0]
    logs = [r for r in recordings.load(scenario) if r.signal == "logs" and b"api_request" in r.body]
    assert logs, scenario
    recordings.send(logs[0], f"127.0.0.1:{served.endpoints.grpc_port}", served.endpoints.http_url)

    def moved(d: Any) -> bool:
        return _kpi(d, card) != before

    WebDriverWait(browser, 30).until(moved)
    after = _kpi(browser, card)
    assert after > before
    assert browser.execute_script("return window.notReloaded") is True  # no reload
    assert _errors(browser) == []


def test_the_period_filter_refetches_and_keeps_the_url(browser: Any, origin: str) -> None:
    _open(browser, origin, "overview")
    # the filters are drawn again when their choices arrive
    WebDriverWait(browser, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#top .filters[data-choices]")
    )
    period = Select(browser.find_element(By.CSS_SELECTOR, 'select[data-filter="since"]'))
    assert period.first_selected_option.get_attribute("value") == SINCE
    version = browser.execute_script("return document.getElementById('app').dataset.version")
    period.select_by_value("24h")  # the recordings are older: nothing in the last day
    WebDriverWait(browser, 30).until(
        lambda d: (
            d.execute_script("return document.getElementById('app').dataset.version") != version
        )
    )
    assert "since=24h" in browser.current_url
    value = browser.find_element(By.CSS_SELECTOR, '[data-kpi="period-cost"]')
    assert float(value.get_attribute("data-value")) == 0
    assert _errors(browser) == []


def _page_state(browser: Any) -> dict[str, Any]:
    """What the page shows now, read in one step (it redraws when an answer arrives)."""
    state: dict[str, Any] = browser.execute_script(
        """
        const app = document.getElementById('app');
        const card = document.querySelector('[data-kpi="period-cost"]');
        const times = document.querySelectorAll('#top .sub time');
        const options = {};
        for (const s of document.querySelectorAll('#top select[data-filter]')) {
          options[s.dataset.filter] = [...s.options].map((o) => o.value).filter((v) => v);
        }
        return {version: app.dataset.version, cost: card ? Number(card.dataset.value) : null,
                until: times.length > 1 ? times[1].getAttribute('datetime') : null, options};
        """
    )
    return state


def test_model_and_team_filters_show_what_query_cost_prints_for_them(
    browser: Any, origin: str, served: Service, tmp_path: Path
) -> None:
    """Each select of the page narrows every view to one label of `otelcap query cost --by X`,
    and the cost shown is what `otelcap query cost --X VALUE` prints for the same period."""
    _open(browser, origin, "overview")
    WebDriverWait(browser, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#top .filters[data-choices]")
    )
    env = {"OTELCAP_DATA_DIR": str(served.config.data_dir), "OTELCAP_CONFIG": str(tmp_path / "no")}
    start = _page_state(browser)
    assert {"model", "team"} <= set(start["options"]), start["options"]
    narrowed = 0
    for name in ("model", "team"):
        for value in start["options"][name]:
            _open(browser, origin, "overview")
            before = _page_state(browser)["version"]
            WebDriverWait(browser, 30).until(
                lambda d, n=name: d.find_elements(By.CSS_SELECTOR, f'select[data-filter="{n}"]')
            )
            Select(
                browser.find_element(By.CSS_SELECTOR, f'select[data-filter="{name}"]')
            ).select_by_value(value)
            WebDriverWait(browser, 30).until(lambda d, b=before: _page_state(d)["version"] != b)
            shown = _page_state(browser)
            assert f"{name}=" in browser.current_url
            args = [
                "query",
                "cost",
                "--since",
                SINCE,
                "--until",
                shown["until"],
                f"--{name}",
                value,
            ]
            rows = _cli_json_server(args, env)
            assert rows[-1]["model"] == "total"
            assert shown["cost"] == pytest.approx(rows[-1]["cost_usd"], abs=1e-9), (name, value)
            narrowed += shown["cost"] < start["cost"]
    assert narrowed >= 2  # a filter that kept everything would pass the loop, not this
    assert _errors(browser) == []
