"""One self-contained HTML page: the data as JSON, uPlot and the page's script and styles,
all inlined, under a Content-Security-Policy that lets nothing else in.

A report is opened from file://, where `'self'` means nothing useful (every file:// page is
its own opaque origin), so the policy names no origin at all: `default-src 'none'` and the
exact inlined scripts and style sheets by their sha256. No request can leave the page, and a
script that is not one of ours (injected text, say) does not run. The data travels in a
`<script type="application/json">` block, which is never executed, and the page's script
writes every value with textContent, never as HTML. The page `otelcap ui` serves
(`render_served`) is the same page without the data block: its script and styles are files
of its own origin, under the header SERVED_CSP, and the script fetches the data.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from importlib import resources
from typing import Any

ASSETS = ("uPlot.iife.min.js", "uPlot.min.css", "app.js", "app.css")
UPLOT_VERSION = "1.6.32"
# The served page's policy (a header): its own origin's files and JSON and nothing else; no
# inline script or style, no frame around it, no form posting anywhere.
SERVED_CSP = "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


def asset(name: str) -> str:
    return resources.files("otelcap").joinpath("report", "assets", name).read_text("utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def json_for_script(value: Any) -> str:
    """JSON that cannot end its <script> block or open a comment inside it: `<`, `>` and `&`
    as \\u escapes (JSON.parse reads them back), and U+2028/2029, which old parsers choke on."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(ch, esc)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def csp(scripts: list[str], styles: list[str]) -> str:
    return "; ".join(
        [
            "default-src 'none'",
            "script-src " + " ".join(_sha256(s) for s in scripts),
            "style-src " + " ".join(_sha256(s) for s in styles),
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def _head(title: str, policy_meta: str, styles: list[str]) -> list[str]:
    return [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        *([policy_meta] if policy_meta else []),
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light dark">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{html.escape(title)}</title>",
        *styles,
        "</head>",
        "<body>",
        '<header id="top"></header>',
    ]


def render_served() -> str:
    """The page `otelcap ui` serves: the same script and styles, as files beside it
    (assets/NAME); the script fetches its data from the same origin."""
    css = [f'<link rel="stylesheet" href="assets/{n}">' for n in ASSETS if n.endswith(".css")]
    js = [f'<script src="assets/{n}"></script>' for n in ASSETS if n.endswith(".js")]
    return "\n".join(
        [
            *_head("otelcap", "", css),
            '<main id="app"><noscript>The dashboard draws its views with JavaScript.</noscript>'
            "</main>",
            *js,
            "</body>",
            "</html>",
            "",
        ]
    )


def render(data: dict[str, Any]) -> str:
    """The page for gathered data (report.data.gather)."""
    uplot_js, uplot_css, app_js, app_css = (asset(n) for n in ASSETS)
    scripts, styles = [uplot_js, app_js], [uplot_css, app_css]
    meta = data.get("meta", {})
    policy = html.escape(csp(scripts, styles), quote=False)  # its ' stay readable
    title = f"otelcap report {meta.get('since', '')[:10]} – {meta.get('until', '')[:10]}"
    return "\n".join(
        [
            *_head(
                title,
                f'<meta http-equiv="Content-Security-Policy" content="{policy}">',
                [f"<style>{uplot_css}</style>", f"<style>{app_css}</style>"],
            ),
            '<main id="app"><noscript>This report draws its views with JavaScript; allow '
            "it for this file to see them.</noscript></main>",
            f'<script type="application/json" id="otelcap-data">{json_for_script(data)}</script>',
            f"<script>{uplot_js}</script>",
            f"<script>{app_js}</script>",
            "</body>",
            "</html>",
            "",
        ]
    )
