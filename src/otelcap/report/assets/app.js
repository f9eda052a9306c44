/* otelcap report and dashboard: the views of the query pack's answers. Plain JavaScript, no
 * build step.
 *
 * The data (report/data.py) is each table as {columns, rows, total}, instants as ISO UTC
 * strings. In a report file it is the JSON block #otelcap-data; in the page `otelcap ui`
 * serves there is no block, and the data comes from the same origin: api/data (with the
 * page's filters as its query string), api/session for a session's page, api/choices for the
 * filters' values, api/changes polled while the server stores more. Every value reaches the
 * page through textContent (el() below), never as HTML. Times are shown in the viewer's
 * time zone. */
(function () {
  "use strict";

  const block = document.getElementById("otelcap-data");
  const SERVED = !block;
  let D = null; // the data on screen: set by show()
  const TRACES_HINT = "traces need CLAUDE_CODE_ENHANCED_TELEMETRY_BETA=1 and OTEL_TRACES_EXPORTER=otlp";
  const SETUP_HINT =
    "Point Claude Code at otelcap: CLAUDE_CODE_ENABLE_TELEMETRY=1, OTEL_LOGS_EXPORTER=otlp and " +
    "OTEL_METRICS_EXPORTER=otlp (otelcap setup claude --write sets them)";

  // --- small helpers ------------------------------------------------------------------------

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const kid of kids.flat(Infinity)) {
      if (kid === null || kid === undefined || kid === false) continue;
      e.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return e;
  }

  function objects(t) {
    if (!t) return [];
    return t.rows.map((r) => Object.fromEntries(t.columns.map((c, i) => [c, r[i]])));
  }

  const nf0 = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
  const nf1 = new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const nf2 = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const nf4 = new Intl.NumberFormat(undefined, { minimumFractionDigits: 4, maximumFractionDigits: 4 });

  function usd(x) {
    if (x === null || x === undefined) return "–";
    const a = Math.abs(x);
    // cents hide most of a small session's cost: 4 places under $1, 2 up to $1,000
    return "$" + (a >= 1000 ? nf0 : a >= 1 || a === 0 ? nf2 : nf4).format(x);
  }
  function usdAxis(x) {
    // tick labels: as few places as the ticks need ($0.80, not $0.8000)
    const a = Math.abs(x);
    return "$" + (a >= 1000 ? nf0 : a >= 0.1 || a === 0 ? nf2 : nf4).format(x);
  }
  function int(x) {
    return x === null || x === undefined ? "–" : nf0.format(x);
  }
  function compact(x) {
    if (x === null || x === undefined) return "–";
    const a = Math.abs(x);
    if (a >= 1e9) return nf2.format(x / 1e9) + " G";
    if (a >= 1e6) return nf2.format(x / 1e6) + " M";
    if (a >= 1e4) return nf1.format(x / 1e3) + " k";
    return nf0.format(x);
  }
  function pct(x) {
    return x === null || x === undefined ? "–" : nf1.format(x * 100) + " %";
  }
  function ms(x) {
    if (x === null || x === undefined) return "–";
    if (x < 1000) return nf0.format(x) + " ms";
    return seconds(x / 1000);
  }
  function seconds(s) {
    if (s === null || s === undefined) return "–";
    if (s < 60) return nf1.format(s) + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + String(Math.round(s % 60)).padStart(2, "0") + " s";
    return Math.floor(s / 3600) + " h " + String(Math.round((s % 3600) / 60)).padStart(2, "0") + " min";
  }

  const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const blockFmt = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  const dateFmt = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });
  const dayFmt = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
  function offsetLabel(d) {
    const m = -d.getTimezoneOffset();
    const sign = m >= 0 ? "+" : "-";
    const a = Math.abs(m);
    return "UTC" + sign + String(Math.floor(a / 60)).padStart(2, "0") + ":" + String(a % 60).padStart(2, "0");
  }
  function when(iso, fmt) {
    if (!iso) return "–";
    const d = new Date(iso);
    return el("time", { datetime: iso, title: iso + " (UTC)" }, (fmt || dateTimeFmt).format(d));
  }
  function zoneLabel() {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
    return zone + " (" + offsetLabel(new Date(D.meta.until)) + ")";
  }

  function command(key) {
    const q = D.meta.queries[key];
    if (!q) return "";
    let cmd = "otelcap query " + q.name;
    for (const [k, v] of Object.entries(q)) {
      if (k === "name") continue;
      // the filters and these have flags of their own (`otelcap query --help`)
      const arg = /^[\w.:+\-]+$/.test(String(v)) ? String(v) : "'" + String(v).replace(/'/g, "'\\''") + "'";
      if (k === "tz") cmd += ` --timezone ${arg}`; // the zone of its day buckets
      else cmd += ["since", "until", "session", "model", "project", "user", "team"].includes(k) ? ` --${k} ${arg}` : ` --param ${k}=${arg}`;
    }
    return cmd;
  }
  function source(...keys) {
    // the commands that print this view's numbers, folded: long, and read only to check
    return el("details", { class: "note source" },
      el("summary", {}, "From otelcap query " + [...new Set(keys.map((k) => (D.meta.queries[k] || {}).name).filter(Boolean))].join(", ")),
      keys.map((k) => el("div", {}, el("code", {}, command(k)))));
  }
  function empty(what, hint) {
    return el("div", { class: "empty" }, el("b", {}, what), hint ? [" ", hint] : null);
  }

  // --- tables -------------------------------------------------------------------------------

  /* cols: [{key, label, num, fmt(value,row) -> text|Node, sort(row) -> value, cls}] */
  function table(cols, rows, opts) {
    opts = opts || {};
    const state = opts.state || {};
    const tbody = el("tbody");
    const heads = cols.map((c, i) =>
      el("th", {
        class: [c.num ? "num" : "", opts.sortable ? "sortable" : ""].join(" ").trim() || null,
        scope: "col",
        title: c.title,
        onclick: opts.sortable ? () => sortBy(i) : null,
      }, c.label)
    );
    function sortBy(i) {
      state.dir = state.col === i && state.dir === "desc" ? "asc" : "desc";
      state.col = i;
      fill();
    }
    function fill() {
      let shown = rows;
      if (opts.filter) shown = shown.filter(opts.filter);
      if (state.col !== undefined) {
        const c = cols[state.col];
        const key = c.sort || ((r) => r[c.key]);
        const dir = state.dir === "asc" ? 1 : -1;
        shown = shown.slice().sort((a, b) => {
          const x = key(a), y = key(b);
          if (x === y) return 0;
          if (x === null || x === undefined) return 1;
          if (y === null || y === undefined) return -1;
          return (x < y ? -1 : 1) * dir;
        });
      }
      heads.forEach((h, i) => {
        h.classList.toggle("sorted-asc", state.col === i && state.dir === "asc");
        h.classList.toggle("sorted-desc", state.col === i && state.dir === "desc");
      });
      tbody.replaceChildren(
        ...shown.map((r) => {
          const tr = el("tr", { class: [opts.rowClass ? opts.rowClass(r) : "", opts.href ? "link" : ""].join(" ").trim() || null });
          if (opts.href) {
            tr.tabIndex = 0;
            tr.addEventListener("click", () => (location.hash = opts.href(r)));
            tr.addEventListener("keydown", (ev) => { if (ev.key === "Enter") location.hash = opts.href(r); });
          }
          for (const c of cols) {
            const v = c.fmt ? c.fmt(r[c.key], r) : r[c.key];
            tr.append(el("td", { class: [c.num ? "num" : "", c.cls || ""].join(" ").trim() || null }, v === null || v === undefined ? "" : v));
          }
          return tr;
        })
      );
      if (opts.onfill) opts.onfill(shown.length);
    }
    fill();
    const t = el("table", {}, el("thead", {}, el("tr", {}, heads)), tbody);
    const wrap = el("div", { class: "tablewrap" }, t);
    wrap.refill = fill;
    return wrap;
  }

  // --- charts (uPlot) -----------------------------------------------------------------------

  let live = []; // the uPlot instances of the view on screen
  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }
  function palette() {
    return ["--c1", "--c2", "--c3", "--c4", "--c5", "--c6"].map(css);
  }
  function axis(label, values, extra) {
    const fg = css("--muted"), grid = css("--grid");
    return Object.assign({
      label, values, stroke: fg, labelFont: "12px system-ui, sans-serif", font: "11px system-ui, sans-serif",
      grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 },
    }, extra || {});
  }
  function chartBox(title) {
    const box = el("div", { class: "chart" }, el("div", { class: "title" }, title));
    const plot = el("div", { class: "plot" });
    box.append(plot);
    box.plot = plot;
    return box;
  }
  function width(box) {
    return Math.max(240, box.clientWidth - 18);
  }
  function height() {
    return window.innerWidth < 640 ? 210 : 250;
  }
  /* Categorical bars, stacked: labels[i] on x, one series per {label, values}; drawn from the
   * top of the stack down so each bar shows its own part, and the legend its own value. */
  function stackedBars(box, labels, layers, yLabel, yFmt, xLabel, extra) {
    const n = labels.length;
    const xs = labels.map((_, i) => i);
    const stacks = [];
    let run = xs.map(() => 0);
    for (const layer of layers) {
      run = run.map((v, i) => v + (layer.values[i] || 0));
      stacks.push(run);
    }
    const colors = palette();
    const series = [{ label: xLabel, value: (u, i) => (i === null ? "–" : labels[i]) }];
    const data = [xs];
    for (let k = layers.length - 1; k >= 0; k--) {
      const layer = layers[k];
      series.push({
        label: layer.label,
        stroke: colors[k % colors.length],
        fill: colors[k % colors.length],
        width: 0,
        paths: uPlot.paths.bars({ size: [0.72, 48] }),
        points: { show: false },
        value: (u, v, si, i) => (i === null ? "–" : yFmt(layer.values[i] || 0)),
      });
      data.push(stacks[k]);
    }
    // a label every so many bars, so that labels of ~7 px a character do not overlap
    const room = Math.max(56, Math.max(0, ...labels.map((l) => String(l).length)) * 8 + 16);
    const every = Math.max(1, Math.ceil(n / Math.max(1, width(box) / room)));
    const opts = Object.assign({
      width: width(box), height: height(),
      scales: { x: { time: false, range: [-0.6, n - 0.4] }, y: { range: (u, lo, hi) => [0, hi > 0 ? hi * 1.08 : 1] } },
      axes: [
        axis(xLabel, (u, splits) => splits.map((i) => (Number.isInteger(i) && i % every === 0 ? labels[i] : "")), {
          splits: () => xs, size: 42, grid: { show: false },
        }),
        axis(yLabel, (u, splits) => splits.map(yFmt === usd ? usdAxis : yFmt), { size: 64 }),
      ],
      series, cursor: { drag: { x: false, y: false }, points: { show: false } },
      legend: { live: true },
    }, extra || {});
    live.push(new uPlot(opts, data, box.plot));
  }

  // --- the views ----------------------------------------------------------------------------

  let costRows, costByDay, costTotal, tokensRows, tokensTotal, sessions, outcomes, allOutcome, hasData;
  function derive() {
    costRows = objects(D.cost);
    costByDay = costRows.filter((r) => r.model !== "total");
    costTotal = costRows.find((r) => r.model === "total") || { cost_usd: 0, requests: 0 };
    tokensRows = objects(D.tokens);
    tokensTotal = tokensRows.find((r) => r.model === "total") || {};
    sessions = objects(D.sessions);
    outcomes = Object.fromEntries(objects(D.outcomes).map((r) => [r.outcome, r]));
    allOutcome = outcomes.all || { sessions: 0, cost_usd: 0 };
    hasData = (costTotal.requests || 0) > 0 || allOutcome.sessions > 0;
  }

  // The pack's days are those of the zone otelcap was asked for (meta.tz: the server's, or
  // the report writer's), which need not be the viewer's: labels name it.
  function dayZone() {
    return D.meta.tz || "UTC";
  }
  function dayUnit() {
    return "Day (" + dayZone() + ")";
  }
  function zoneDate(iso) {
    // the YYYY-MM-DD that holds this instant in dayZone() (en-CA writes dates that way)
    return new Intl.DateTimeFormat("en-CA", { timeZone: dayZone(), year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(iso));
  }
  function periodDays() {
    // every day of the period, so a day without spending shows as no bar, not no day
    const out = [];
    const start = new Date(zoneDate(D.meta.since) + "T00:00:00Z");
    const end = new Date(zoneDate(D.meta.until) + "T00:00:00Z");
    for (let d = start; d <= end && out.length < 3700; d = new Date(d.getTime() + 86400000)) {
      out.push(d.toISOString().slice(0, 10));
    }
    return out;
  }

  function trendCard(label, key, prevKey, prevLabel) {
    const w = D.windows[key], p = D.windows[prevKey];
    let detail = "vs " + usd(p.cost_usd) + " " + prevLabel;
    if (p.cost_usd > 0) {
      const change = (w.cost_usd - p.cost_usd) / p.cost_usd;
      const up = change > 0;
      detail = [el("span", { class: up ? "trend-up" : "trend-down" }, (up ? "▲ +" : "▼ ") + nf1.format(change * 100) + " %"), " ", detail];
    }
    return card(label, usd(w.cost_usd), detail, { "data-kpi": "cost-" + key, "data-value": w.cost_usd,
      title: "otelcap query cost --since " + w.since + " --until " + w.until });
  }
  function card(label, value, detail, attrs) {
    return el("div", Object.assign({ class: "card" }, attrs || {}),
      el("div", { class: "label" }, label), el("div", { class: "value" }, value),
      detail ? el("div", { class: "detail" }, detail) : null);
  }

  // otelcap budget's statuses: warnings at 80 and 90 % of a limit, over at 100 %
  const BUDGET_SAID = { ok: ["ok", "good"], warning_80: ["80 % used", "warn"], warning_90: ["90 % used", "warn"], over: ["over the limit", "bad"] };
  const BUDGET_PERIOD = { day: ["Today", "the day"], week: ["This week", "the week"], month: ["This month", "the month"] };
  function budgetCards(root) {
    const b = D.budget;
    if (!b) return; // a report of an otelcap without budgets
    root.append(el("h2", {}, "Budget"));
    const limited = b.periods.filter((p) => p.limit_usd !== null);
    if (!limited.length) {
      root.append(el("p", { class: "note", "data-budget": "none" }, "No spending limits set: ",
        el("code", {}, "otelcap budget set --daily 20 --monthly 400"), " sets them (a running dashboard shows them within a minute); they show here with warnings at 80, 90 and 100 % and the spend projected to each period's end."));
      return;
    }
    const cards = el("div", { class: "cards" });
    const bars = [];
    for (const p of limited) {
      const [label, end] = BUDGET_PERIOD[p.period];
      const [said, tone] = BUDGET_SAID[p.status] || [p.status, ""];
      const bar = el("div", { class: "split" }, el("div", { class: tone, "data-share": Math.min(1, p.used_pct / 100) }));
      bars.push(bar);
      cards.append(el("div", { class: "card budget " + tone, "data-budget": p.period, "data-status": p.status, "data-value": p.spent_usd },
        el("div", { class: "label" }, label + " · limit " + usd(p.limit_usd)),
        el("div", { class: "value" }, usd(p.spent_usd) + " ", el("span", { class: "badge " + tone }, said)),
        bar,
        el("div", { class: "detail" }, nf1.format(p.used_pct) + " % used, " + nf1.format(p.elapsed_pct) + " % of " + end + " gone; at this rate " + usd(p.projected_usd) + " by its end",
          p.projected_over && p.status !== "over" ? [" ", el("b", { class: "trend-up" }, "(projected over)")] : null)));
    }
    root.append(cards);
    for (const bar of bars) for (const part of bar.children) part.style.width = (Number(part.dataset.share) || 0) * 100 + "%";
    root.append(el("p", { class: "note" }, "All spending up to ", when(b.now), ", whatever the filters; periods in " + b.zone + "."));
    root.append(source("budget"));
  }

  function usersCard() {
    // cost --by user --period month: rows per month and user id, "(no user)" without one
    if (!D.users) return null;
    const rows = objects(D.users).filter((r) => r.model !== "total");
    const known = new Set(rows.map((r) => r.model).filter((u) => u !== "(no user)"));
    const none = rows.filter((r) => r.model === "(no user)").reduce((n, r) => n + (r.requests || 0), 0);
    return card("Active users", int(known.size),
      "user ids with API requests" + (none ? "; " + int(none) + " requests without one" : ""),
      { "data-kpi": "users", "data-value": known.size });
  }

  function viewOverview(root) {
    if (!hasData) {
      root.append(empty("No Claude Code telemetry in this period.", SETUP_HINT + "; then run the report again."));
    }
    root.append(el("h2", {}, "Cost"));
    root.append(el("div", { class: "cards" },
      card("This period", usd(costTotal.cost_usd), int(costTotal.requests) + " API requests", {
        "data-kpi": "period-cost", "data-value": costTotal.cost_usd,
      }),
      trendCard("Today", "today", "yesterday", "yesterday"),
      trendCard("Last 7 days", "7d", "prev_7d", "the 7 days before"),
      trendCard("Last 30 days", "30d", "prev_30d", "the 30 days before"),
    ));
    budgetCards(root);
    const prompts = sessions.reduce((s, r) => s + (r.prompts || 0), 0);
    const prod = outcomes.productive || { sessions: 0, cost_usd: 0 };
    const waste = outcomes.wasted || { sessions: 0, cost_usd: 0 };
    const split = el("div", { class: "split", title: "cost with a commit or PR vs without" });
    if (allOutcome.cost_usd > 0) {
      split.append(el("div", { class: "good", "data-share": prod.cost_share }));
      split.append(el("div", { class: "bad", "data-share": waste.cost_share }));
    }
    root.append(el("h2", {}, "Work"));
    root.append(el("div", { class: "cards" },
      card("Sessions", int(allOutcome.sessions), D.sessions.total > D.sessions.rows.length
        ? "the " + int(D.sessions.rows.length) + " most recent are listed" : null, { "data-kpi": "sessions", "data-value": allOutcome.sessions }),
      usersCard(),
      card("Prompts", int(prompts), "in the listed sessions", { "data-kpi": "prompts", "data-value": prompts }),
      card("Cache hit ratio", pct(tokensTotal.cache_hit_ratio), "cache reads / all input tokens", { "data-kpi": "cache-hit" }),
      card("Cost per commit", allOutcome.commits ? usd(allOutcome.cost_per_commit_usd) : "–",
        allOutcome.commits ? int(allOutcome.commits) + " commits, " + int(allOutcome.pull_requests) + " PRs"
          : "no commits recorded (they come with OTEL_METRICS_EXPORTER=otlp)", { "data-kpi": "cost-per-commit" }),
      card("Lines per dollar", allOutcome.lines_per_usd === null || allOutcome.lines_per_usd === undefined
        ? "–" : nf1.format(allOutcome.lines_per_usd) + " lines/$", int(allOutcome.lines_added) + " added, " + int(allOutcome.lines_removed) + " removed",
        { "data-kpi": "lines-per-usd" }),
      el("div", { class: "card", "data-kpi": "productive" },
        el("div", { class: "label" }, "Productive vs wasted sessions"),
        el("div", { class: "value" }, int(prod.sessions) + " / " + int(waste.sessions)),
        split,
        el("div", { class: "detail" }, usd(prod.cost_usd) + " with a commit or PR, " + usd(waste.cost_usd) + " without")),
    ));
    // widths from the data, set through CSSOM (the policy allows no style attributes)
    for (const part of split.children) part.style.width = (Number(part.dataset.share) || 0) * 100 + "%";
    root.append(source("cost", "cost_days", "tokens", "outcomes", "sessions", "users"));

    if (!costByDay.length) return;
    root.append(el("h2", {}, "Cost by day"));
    const box = chartBox("Cost per day, by model (USD)");
    root.append(box);
    root.draw = () => drawCostChart(box);
  }

  function dayLayers(valueOf, keys, rows = costByDay, dayOf = (r) => r.period) {
    // one layer per key over every day of the period: the rows of a day added up per key
    const days = periodDays();
    const index = Object.fromEntries(days.map((d, i) => [d, i]));
    const layers = keys.map((k) => ({ label: k.label, values: days.map(() => 0) }));
    for (const r of rows) {
      const i = index[dayOf(r)];
      if (i === undefined) continue;
      keys.forEach((k, j) => { if (k.match(r)) layers[j].values[i] += valueOf(r, k); });
    }
    return { days, layers };
  }
  function models() {
    const byCost = {};
    for (const r of costByDay) byCost[r.model] = (byCost[r.model] || 0) + r.cost_usd;
    return Object.keys(byCost).sort((a, b) => byCost[b] - byCost[a]);
  }
  function dayLabels(days) {
    return days.map((d) => dayFmt.format(new Date(d + "T00:00:00Z")));
  }
  function drawCostChart(box) {
    const keys = models().map((m) => ({ label: m || "(no model)", match: (r) => r.model === m }));
    const { days, layers } = dayLayers((r) => r.cost_usd, keys);
    stackedBars(box, dayLabels(days), layers, "Cost (USD)", usd, dayUnit());
  }

  function viewCost(root) {
    root.append(el("h2", {}, "Cost and tokens over time"));
    if (!costByDay.length) {
      root.append(empty("No API requests in this period.", SETUP_HINT + "."));
      return;
    }
    const costBox = chartBox("Cost per day, by model (USD)");
    const tokBox = chartBox("Tokens per day, by type");
    root.append(costBox, tokBox);
    const blocks = objects(D.blocks);
    let blockBox = null;
    if (D.blocks && blocks.length) {
      blockBox = chartBox("Cost per 5-hour block (USD), blocks as Claude plans meter them");
      root.append(blockBox);
    }
    root.draw = () => {
      drawCostChart(costBox);
      const types = [
        ["input", "input_tokens"], ["output", "output_tokens"], ["cache read", "cache_read_tokens"], ["cache creation", "cache_creation_tokens"],
      ].map(([label, col]) => ({ label, col, match: () => true }));
      const { days, layers } = dayLayers((r, k) => r[k.col] || 0, types);
      stackedBars(tokBox, dayLabels(days), layers, "Tokens", compact, dayUnit());
      if (blockBox) {
        const labels = blocks.map((b) => blockFmt.format(new Date(b.block_start)));
        stackedBars(blockBox, labels, [{ label: "cost", values: blocks.map((b) => b.cost_usd || 0) }], "Cost (USD)", usd, "Block start (local time)");
      }
    };
    root.append(el("h3", {}, "Per model"));
    root.append(table([
      { key: "model", label: "Model" },
      { key: "requests", label: "Requests", num: true, fmt: int },
      { key: "input_tokens", label: "Input", num: true, fmt: int },
      { key: "output_tokens", label: "Output", num: true, fmt: int },
      { key: "cache_read_tokens", label: "Cache read", num: true, fmt: int },
      { key: "cache_creation_tokens", label: "Cache creation", num: true, fmt: int },
      { key: "cache_hit_ratio", label: "Cache hits", num: true, fmt: pct },
    ], tokensRows, { rowClass: (r) => (r.model === "total" ? "total" : "") }));
    root.append(source("tokens"));
    // every day and model: the long table `otelcap query cost` prints, folded
    const perDay = el("details", { class: "perday" }, el("summary", {}, "Per day and model: " + int(costRows.length) + " rows"));
    perDay.append(table([
      { key: "period", label: dayUnit() },
      { key: "model", label: "Model" },
      { key: "requests", label: "Requests", num: true, fmt: int },
      { key: "input_tokens", label: "Input", num: true, fmt: int },
      { key: "output_tokens", label: "Output", num: true, fmt: int },
      { key: "cache_read_tokens", label: "Cache read", num: true, fmt: int },
      { key: "cache_creation_tokens", label: "Cache creation", num: true, fmt: int },
      { key: "cost_usd", label: "Cost", num: true, fmt: usd },
    ], costRows, { rowClass: (r) => (r.model === "total" ? "total" : "") }));
    root.append(perDay);
    root.append(source("cost"));
    if (D.blocks === null) {
      root.append(el("p", { class: "note" }, "5-hour blocks: this otelcap's query pack has no blocks query."));
    } else if (blocks.length) {
      const folded = el("details", { class: "perday" }, el("summary", {}, "5-hour blocks: " + int(blocks.length)));
      folded.append(genericTable(D.blocks));
      root.append(folded, source("blocks"));
    }
  }

  function outcomeOf(r) {
    return r.commits > 0 || r.pull_requests > 0 ? "commit/PR" : "no commit";
  }
  const sessionState = { col: undefined, dir: "desc" };
  let sessionSearch = "";
  function viewSessions(root) {
    root.append(el("h2", {}, "Sessions"));
    if (!sessions.length) {
      root.append(empty("No sessions in this period.", SETUP_HINT + "."));
      return;
    }
    const count = el("span", { class: "muted" });
    const search = el("input", { type: "search", placeholder: "Search id, project, version, model…", "aria-label": "Search sessions", value: sessionSearch });
    root.append(el("div", { class: "toolbar" }, search, count));
    const cols = [
      { key: "started", label: "Started", fmt: (v) => when(v) },
      { key: "session_id", label: "Session", fmt: (v) => el("code", {}, v.slice(0, 8)) },
      { key: "project", label: "Project" },
      { key: "cost_usd", label: "Cost", num: true, fmt: usd },
      { key: "duration_s", label: "Duration", num: true, fmt: seconds },
      { key: "prompts", label: "Prompts", num: true, fmt: int },
      { key: "tool_failures", label: "Failures", num: true, title: "tool failures + API errors",
        fmt: (v, r) => int((r.tool_failures || 0) + (r.api_errors || 0)), sort: (r) => (r.tool_failures || 0) + (r.api_errors || 0) },
      { key: "commits", label: "Outcome", fmt: (v, r) => el("span", { class: "badge " + (outcomeOf(r) === "no commit" ? "warn" : "good") }, outcomeOf(r)),
        sort: outcomeOf },
      { key: "app_version", label: "Version" },
      { key: "models", label: "Models" },
      { key: "tool_calls", label: "Tool calls", num: true, fmt: int },
      { key: "rejections", label: "Rejected", num: true, fmt: int },
      { key: "lines_added", label: "Lines +/−", num: true, fmt: (v, r) => "+" + int(r.lines_added) + " / −" + int(r.lines_removed) },
    ];
    const match = (r) => {
      if (!sessionSearch) return true;
      const hay = [r.session_id, r.project, r.app_version, r.models, r.terminal].join(" ").toLowerCase();
      return sessionSearch.toLowerCase().split(/\s+/).every((w) => hay.includes(w));
    };
    const t = table(cols, sessions, {
      sortable: true, state: sessionState, filter: match, href: (r) => "#session/" + r.session_id,
      onfill: (n) => (count.textContent = int(n) + " of " + int(D.sessions.total) + " sessions"),
    });
    search.addEventListener("input", () => { sessionSearch = search.value.trim(); t.refill(); });
    root.append(t);
    if (D.sessions.total > D.sessions.rows.length) {
      root.append(el("p", { class: "note" }, "The " + int(D.sessions.rows.length) + " most recent of " + int(D.sessions.total) + " sessions are listed."));
    }
    root.append(source("sessions"));
  }

  function spanKind(name) {
    if (name.endsWith("llm_request")) return ["k-llm", "API call"];
    if (name.endsWith("blocked_on_user")) return ["k-user", "blocked on user"];
    if (name.endsWith("tool.execution")) return ["k-exec", "tool run"];
    if (name.endsWith(".tool")) return ["k-tool", "tool"];
    if (name.endsWith("interaction")) return ["k-interaction", "interaction"];
    return ["k-other", name.replace(/^claude_code\./, "")];
  }
  function waterfall(spans) {
    const byId = Object.fromEntries(spans.map((s) => [s.span_id, s]));
    const depth = (s) => { let d = 0; for (let p = byId[s.parent_span_id]; p && d < 12; p = byId[p.parent_span_id]) d++; return d; };
    const t0 = Math.min(...spans.map((s) => Date.parse(s.started)));
    const t1 = Math.max(...spans.map((s) => Date.parse(s.started) + (s.duration_ms || 0)));
    const total = Math.max(1, t1 - t0);
    const box = el("div", { class: "waterfall" }, el("div", { class: "muted" }, "Spans: " + int(spans.length) + " over " + ms(total)));
    // parents before their children, siblings by start: the tree read top to bottom
    const kids = {};
    for (const s of spans) (kids[byId[s.parent_span_id] ? s.parent_span_id : ""] ||= []).push(s);
    const ordered = [];
    const walk = (id) => { for (const s of (kids[id] || []).sort((a, b) => Date.parse(a.started) - Date.parse(b.started))) { ordered.push(s); if (ordered.length <= spans.length) walk(s.span_id); } };
    walk("");
    for (const s of ordered) {
      const [cls, what] = spanKind(s.span_name);
      const bar = el("div", { class: "wf-bar " + cls, title: s.span_name + " " + ms(s.duration_ms) });
      bar.style.left = ((Date.parse(s.started) - t0) / total) * 100 + "%";
      bar.style.width = ((s.duration_ms || 0) / total) * 100 + "%";
      const name = el("div", { class: "wf-name", title: s.span_name }, "\u00a0".repeat(depth(s) * 3) + what + (s.tool ? " " + s.tool : "") + (s.model && cls === "k-llm" ? " " + s.model : ""));
      box.append(el("div", { class: "wf-row" }, name, el("div", { class: "wf-track" }, bar), el("div", { class: "wf-dur" }, ms(s.duration_ms))));
    }
    return box;
  }

  function viewSession(root, sid, focusPrompt) {
    const row = sessions.find((r) => r.session_id === sid);
    const detail = D.details[sid];
    if (!detail && SERVED && sid) {
      // the served page asks for a session's page when it is opened
      root.append(el("p", { class: "muted", "data-loading": sid }, "Loading the session's events…"));
      fetchSession(sid);
      return;
    }
    root.append(el("p", {}, el("a", { href: "#sessions" }, "← All sessions")));
    root.append(el("h2", {}, "Session ", el("code", { "data-session": sid }, sid)));
    if (row) {
      root.append(el("div", { class: "cards" },
        card("Cost", usd(row.cost_usd), int(row.api_requests) + " API requests", { "data-kpi": "session-cost", "data-value": row.cost_usd }),
        card("Started", when(row.started, timeFmt), [when(row.started, dateFmt), ", " + seconds(row.duration_s) + " long, " + seconds(row.active_time_s) + " active"]),
        card("Prompts", int(row.prompts), int(row.tool_calls) + " tool calls, " + int(row.tool_failures) + " failed, " + int(row.rejections) + " rejected"),
        card("Claude Code", row.app_version || "–", [row.models || "no model calls", row.project ? " · " + row.project : ""]),
        card("Outcome", outcomeOf(row), int(row.commits) + " commits, " + int(row.pull_requests) + " PRs, +" + int(row.lines_added) + "/−" + int(row.lines_removed) + " lines"),
      ));
    }
    if (!detail) {
      root.append(empty("This report holds the pages of " + int(Object.keys(D.details).length) + " sessions, not this one.",
        el("span", {}, "Read it with ", el("code", {}, "otelcap query session-events --session " + sid))));
      return;
    }
    const events = objects(detail.events);
    const spans = objects(detail.spans);
    const turns = [];
    const byPrompt = {};
    for (const e of events) {
      let t = byPrompt[e.prompt_id];
      if (!t) { t = byPrompt[e.prompt_id] = { prompt: e.prompt_id, events: [], traces: new Set() }; turns.push(t); }
      t.events.push(e);
      if (e.trace_id) t.traces.add(e.trace_id);
    }
    // the timeline: each turn from its first to its last event, failures in red
    const starts = events.map((e) => Date.parse(e.time));
    const t0 = Math.min(...starts), t1 = Math.max(...starts);
    const span = Math.max(1, t1 - t0);
    root.append(el("h3", {}, "Turns on a timeline"));
    const tl = el("div", { class: "timeline" });
    for (const t of turns) {
      const a = Math.min(...t.events.map((e) => Date.parse(e.time)));
      const b = Math.max(...t.events.map((e) => Date.parse(e.time)));
      t.failed = t.events.some((e) => e.step);
      const bar = el("a", { class: "tl-bar" + (t.failed ? " failed" : ""), href: "#session/" + sid + "/" + t.prompt,
        title: (t.prompt ? "turn " + t.prompt.slice(0, 8) : "session start-up") + ", " + ms(b - a) });
      bar.style.left = ((a - t0) / span) * 100 + "%";
      bar.style.width = Math.max(0.4, ((b - a) / span) * 100) + "%";
      tl.append(el("div", { class: "tl-row" }, bar));
    }
    tl.append(el("div", { class: "tl-axis" }, when(new Date(t0).toISOString(), timeFmt), el("span", {}, ms(span)), when(new Date(t1).toISOString(), timeFmt)));
    root.append(tl);
    if (detail.events.total > detail.events.rows.length) {
      root.append(el("p", { class: "note" }, "The first " + int(detail.events.rows.length) + " of " + int(detail.events.total) + " events are shown; all of them: ",
        el("code", {}, "otelcap query session-events --session " + sid)));
    }
    if (!spans.length) root.append(empty("No spans for this session:", TRACES_HINT + "."));

    root.append(el("h3", {}, "Turns and their events"));
    turns.forEach((t, n) => {
      const cost = t.events.reduce((s, e) => s + (e.event === "api_request" ? e.cost_usd || 0 : 0), 0);
      const first = t.events.find((e) => e.first_failure);
      const box = el("div", { class: "turn", id: "turn-" + (t.prompt || "startup"), "data-prompt": t.prompt },
        el("div", { class: "head" },
          el("b", {}, t.prompt ? "Turn " + (n + (turns[0].prompt ? 1 : 0)) : "Session start-up"),
          when(t.events[0].time),
          el("span", {}, int(t.events.length) + " events"),
          el("span", {}, usd(cost)),
          first ? el("span", { class: "badge bad" }, "first failure: " + first.step + " · " + first.kind) : null,
          t.prompt ? el("code", { class: "muted" }, t.prompt) : null));
      box.append(table([
        { key: "time", label: "Time", fmt: (v) => when(v, timeFmt) },
        { key: "sequence", label: "#", num: true },
        { key: "event", label: "Event" },
        { key: "step", label: "Decision or failure (workflow step)", cls: "wrap", fmt: (v, r) => v
          ? [el("span", { class: "badge bad" }, v), " " + r.kind + (r.category ? " · " + r.category : "") + (r.first_failure ? " (first)" : ""),
            r.error_message ? el("div", { class: "muted" }, r.error_message) : null]
          : r.decision ? r.decision + (r.decision_source ? " (" + r.decision_source + ")" : "") : r.success === false ? "failed" : "" },
        { key: "tool", label: "Tool / model", fmt: (v, r) => r.tool || r.model || "" },
        { key: "duration_ms", label: "Duration", num: true, fmt: (v) => (v === null ? "" : ms(v)) },
        { key: "cost_usd", label: "Cost", num: true, fmt: (v) => (v === null ? "" : usd(v)) },
        { key: "tokens", label: "Tokens", num: true, fmt: (v) => (v === null ? "" : int(v)) },
      ], t.events, { rowClass: (r) => (r.step ? "failure" : "") }));
      const own = spans.filter((s) => t.traces.has(s.trace_id));
      if (own.length) box.append(waterfall(own));
      root.append(box);
    });
    root.append(el("details", { class: "note source" }, el("summary", {}, "From otelcap query session-events, session-spans"),
      ["session-events", "session-spans"].map((q) => el("div", {}, el("code", {}, command("details").replace("session-events", q) + " --session " + sid)))));
    const target = focusPrompt && document.getElementById("turn-" + focusPrompt);
    if (target) {
      target.classList.add("focus");
      root.draw = () => target.scrollIntoView({ block: "start" });
    }
  }

  function toolsOverTime(root) {
    // tool-usage-by --by day: one row per tool and day (its day column is named model)
    const rows = objects(D.tools_by_day);
    if (!rows.length) return;
    const layers = (cols) => dayLayers((r, k) => r[k.col] || 0,
      cols.map(([label, col]) => ({ label, col, match: () => true })), rows, (r) => r.model);
    const callDays = layers([["succeeded", "succeeded"], ["failed", "failed"]]);
    const rejectDays = layers([["config", "rejected_by_config"], ["hook", "rejected_by_hook"],
      ["user", "rejected_by_user"], ["other", "rejected_other"]]);
    root.append(el("h3", {}, "Over time"));
    const calls = chartBox("Tool calls per day: succeeded and failed");
    const rejected = chartBox("Rejected tool uses per day, by who rejected them");
    root.append(calls, rejected);
    const before = root.draw;
    root.draw = () => {
      if (before) before();
      stackedBars(calls, dayLabels(callDays.days), callDays.layers, "Calls", int, dayUnit());
      stackedBars(rejected, dayLabels(rejectDays.days), rejectDays.layers, "Rejections", int, dayUnit());
    };
    root.append(source("tools_by_day"));
  }

  function viewTools(root) {
    const tools = objects(D.tools);
    root.append(el("h2", {}, "Tools"));
    if (!tools.length) {
      root.append(empty("No tool calls in this period.", SETUP_HINT + "."));
    } else {
      const box = chartBox("Calls per tool: succeeded and failed");
      root.append(box);
      root.draw = () => stackedBars(box, tools.map((t) => (t.tool.length > 16 ? t.tool.slice(0, 15) + "…" : t.tool)),
        [{ label: "succeeded", values: tools.map((t) => t.succeeded) }, { label: "failed", values: tools.map((t) => t.failed) }],
        "Calls", int, "Tool");
      root.append(table([
        { key: "tool", label: "Tool" },
        { key: "calls", label: "Calls", num: true, fmt: int },
        { key: "success_rate", label: "Success", num: true, fmt: pct },
        { key: "p50_ms", label: "p50", num: true, fmt: ms },
        { key: "p95_ms", label: "p95", num: true, fmt: ms },
        { key: "decisions", label: "Decisions", num: true, fmt: int },
        { key: "rejected", label: "Rejected", num: true, fmt: int },
        { key: "reject_rate", label: "Reject rate", num: true, fmt: pct },
        { key: "rejected_by_config", label: "by config", num: true, fmt: int },
        { key: "rejected_by_hook", label: "by hook", num: true, fmt: int },
        { key: "rejected_by_user", label: "by user", num: true, fmt: int },
      ], tools, { sortable: true }));
      root.append(source("tools"));
      toolsOverTime(root);
    }
    const lat = objects(D.latency);
    root.append(el("h2", {}, "API latency by model"));
    if (!lat.length) {
      root.append(empty("No API requests in this period.", SETUP_HINT + "."));
      return;
    }
    root.append(table([
      { key: "model", label: "Model" },
      { key: "requests", label: "Requests", num: true, fmt: int },
      { key: "duration_p50_ms", label: "p50", num: true, fmt: ms },
      { key: "duration_p95_ms", label: "p95", num: true, fmt: ms },
      { key: "duration_p99_ms", label: "p99", num: true, fmt: ms },
      { key: "duration_max_ms", label: "max", num: true, fmt: ms },
      { key: "ttft_p50_ms", label: "TTFT p50", num: true, fmt: ms },
      { key: "ttft_p95_ms", label: "TTFT p95", num: true, fmt: ms },
    ], lat));
    root.append(source("latency"));
  }

  function viewErrors(root) {
    const rows = objects(D.errors);
    const total = rows.find((r) => r.step === "all steps") || {};
    const kinds = rows.filter((r) => r.step !== "all steps");
    root.append(el("h2", {}, "Error analysis"));
    root.append(el("div", { class: "cards" },
      card("Failed turns", int(total.first_failure_turns) + " / " + int(total.denominator), pct(total.failure_rate) + " of turns had a failure", { "data-kpi": "failed-turns" }),
      card("Recovered vs stalled", int(total.recovered_turns) + " / " + int(total.stalled_turns), "the model was called again after the first failure, or not"),
      card("Cost of failed turns", usd(total.failed_turn_cost_usd), pct(total.cost_share) + " of all spending", { "data-kpi": "failed-cost", "data-value": total.failed_turn_cost_usd }),
      card("Failure signals", int(total.failures), "every failure event, first or not"),
    ));
    if (!kinds.length) {
      root.append(empty("No failures in this period.", hasData ? "Nothing failed: no API errors, rejections or failed tools." : SETUP_HINT + "."));
      return;
    }
    const ranked = kinds.filter((r) => r.first_failure_turns > 0);
    if (ranked.length) {
      const box = chartBox("Pareto of first failures: turns whose first failure was this kind, and the cumulative share");
      root.append(box);
      root.draw = () => {
        const n = ranked.length, xs = ranked.map((_, i) => i);
        const colors = palette();
        live.push(new uPlot({
          width: width(box), height: height(),
          scales: { x: { time: false, range: [-0.6, n - 0.4] }, turns: { range: (u, lo, hi) => [0, Math.max(1, hi * 1.1)] }, share: { range: [0, 1] } },
          axes: [
            axis("Failure kind, by rank (the table below)", (u, s) => s.map((i) => (Number.isInteger(i) ? "#" + (i + 1) : "")), { splits: () => xs, size: 42, grid: { show: false } }),
            axis("Turns", (u, s) => s.map(int), { scale: "turns", size: 52 }),
            axis("Cumulative share", (u, s) => s.map((v) => nf0.format(v * 100) + " %"), { scale: "share", side: 1, grid: { show: false }, size: 58 }),
          ],
          series: [
            { label: "kind", value: (u, i) => (i === null ? "–" : ranked[i].step + " · " + ranked[i].kind) },
            { label: "first-failure turns", scale: "turns", fill: colors[4], stroke: colors[4], width: 0, paths: uPlot.paths.bars({ size: [0.6, 60] }), points: { show: false }, value: (u, v) => int(v) },
            { label: "cumulative share", scale: "share", stroke: colors[0], width: 2, points: { show: true, size: 6 }, value: (u, v) => pct(v) },
          ],
          cursor: { drag: { x: false, y: false } },
        }, [xs, ranked.map((r) => r.first_failure_turns), ranked.map((r) => r.cumulative_share)], box.plot));
      };
    }
    let rank = 0;
    root.append(table([
      { key: "rank", label: "#", num: true, fmt: (v) => (v ? "#" + v : "") },
      { key: "step", label: "Workflow step" },
      { key: "kind", label: "Kind" },
      { key: "category", label: "Category" },
      { key: "failures", label: "Failures", num: true, fmt: int },
      { key: "denominator", label: "of", num: true, fmt: int, title: "what could fail at this step" },
      { key: "failure_rate", label: "Rate", num: true, fmt: pct },
      { key: "first_failure_turns", label: "First in turns", num: true, fmt: int },
      { key: "pareto_share", label: "Share", num: true, fmt: pct },
      { key: "recovered_turns", label: "Recovered", num: true, fmt: int },
      { key: "stalled_turns", label: "Stalled", num: true, fmt: int },
      { key: "failed_turn_cost_usd", label: "Cost", num: true, fmt: usd },
    ], rows.map((r) => Object.assign({ rank: r.first_failure_turns > 0 && r.step !== "all steps" ? ++rank : null }, r)),
      { rowClass: (r) => (r.step === "all steps" ? "total" : "") }));
    root.append(source("errors"));

    const sample = objects(D.sample);
    root.append(el("h2", {}, "Sample turns, by their first failure"));
    if (!sample.length) {
      root.append(empty("No failing turn to sample.", null));
      return;
    }
    let group = null, list = null;
    for (const s of sample) {
      const g = s.step + " · " + s.kind + (s.category ? " · " + s.category : "");
      if (g !== group) {
        group = g;
        list = el("ul", { class: "samples" });
        root.append(el("h3", {}, g), list);
      }
      list.append(el("li", { "data-sample": s.prompt_id },
        el("a", { href: "#session/" + s.session_id + "/" + s.prompt_id, class: "sample-link" }, "Session " + s.session_id.slice(0, 8) + ", turn " + s.prompt_id.slice(0, 8)),
        " ", when(s.turn_started), " · ", s.failed_event + (s.tool ? " " + s.tool : "") + (s.status_code ? " " + s.status_code : ""),
        " · ", el("span", { class: "badge " + (s.outcome === "recovered" ? "good" : "bad") }, s.outcome), " · ", usd(s.turn_cost_usd),
        s.error_text ? el("div", { class: "muted" }, s.error_text) : null));
    }
    root.append(source("sample"));
  }

  function genericTable(t) {
    const cols = t.columns.map((c) => {
      const sample = t.rows.find((r) => r[t.columns.indexOf(c)] !== null);
      const v = sample ? sample[t.columns.indexOf(c)] : null;
      const num = typeof v === "number";
      let fmt = null;
      if (c.endsWith("_usd")) fmt = usd;
      else if (/(rate|ratio|share)$/.test(c)) fmt = pct;
      else if (c.endsWith("_ms")) fmt = ms;
      else if (num) fmt = (x) => (x === null ? "" : Number.isInteger(x) ? int(x) : nf2.format(x));
      else if (typeof v === "string" && /^\d{4}-\d\d-\d\dT.*Z$/.test(v)) fmt = (x) => when(x);
      else if (typeof v === "boolean") fmt = (x) => (x === null ? "" : x ? "yes" : "no");
      return { key: c, label: c.replace(/_/g, " "), num, fmt };
    });
    return table(cols, objects(t));
  }

  /* Lines over categories: labels[i] on x, one series per {label, values, dash, points}. */
  function lines(box, labels, layers, yLabel, yFmt, xLabel) {
    const n = labels.length, xs = labels.map((_, i) => i);
    const colors = palette();
    const room = Math.max(56, Math.max(0, ...labels.map((l) => String(l).length)) * 8 + 16);
    const every = Math.max(1, Math.ceil(n / Math.max(1, width(box) / room)));
    live.push(new uPlot({
      width: width(box), height: height(),
      scales: { x: { time: false, range: [-0.5, Math.max(0.5, n - 0.5)] } },
      axes: [
        axis(xLabel, (u, splits) => splits.map((i) => (Number.isInteger(i) && i % every === 0 ? labels[i] : "")), { splits: () => xs, size: 42, grid: { show: false } }),
        axis(yLabel, (u, splits) => splits.map(yFmt === usd ? usdAxis : yFmt), { size: 64 }),
      ],
      series: [{ label: xLabel, value: (u, i) => (i === null ? "–" : labels[i]) }].concat(layers.map((l, k) => {
        const color = l.color || colors[k % colors.length];
        const one = {
          label: l.label, stroke: color, width: 2,
          points: { show: l.points !== false, size: l.points === "only" ? 9 : 5, fill: color },
          value: (u, v) => (v === null || v === undefined ? "–" : yFmt(v)),
        };
        if (l.dash) one.dash = l.dash;
        if (l.points === "only") one.paths = () => null; // marks, no line between them
        return one;
      })),
      cursor: { drag: { x: false, y: false } },
    }, [xs, ...layers.map((l) => l.values)], box.plot));
  }

  const METRICS = {
    cost_usd: ["Cost per day (USD)", "Cost (USD)", usd],
    api_error_rate: ["API error rate per day", "Failed model calls", pct],
    api_duration_p95_ms: ["API request p95 duration per day", "p95 duration", ms],
  };
  function viewAnomalies(root) {
    root.append(el("h2", {}, "Anomalies"));
    const slot = el("div", { class: "slot-anomalies", "data-slot": "anomalies" });
    root.append(slot);
    const draws = [];
    const rows = objects(D.anomalies);
    if (D.anomalies === null || D.anomalies === undefined) {
      slot.append(empty("Days flagged as unusual come with the anomalies query (otelcap query anomalies);", "this otelcap's query pack has none yet."));
    } else if (!rows.length) {
      slot.append(empty("No day with model calls in this period to judge.", SETUP_HINT + "."));
    } else if (!("metric" in rows[0] && "day" in rows[0] && "value" in rows[0])) {
      slot.append(genericTable(D.anomalies)); // a shape this page does not know: the rows as they are
    } else {
      slot.append(el("p", { class: "note" }, "Each day against the days before it (a trailing modified z-score); flagged days in red, the baseline dashed."));
      const order = Object.keys(METRICS);
      const metrics = [...new Set(rows.map((r) => r.metric))].sort((a, b) => ((order.indexOf(a) + 1) || 99) - ((order.indexOf(b) + 1) || 99));
      for (const metric of metrics) {
        const mine = rows.filter((r) => r.metric === metric);
        const [title, yLabel, fmt] = METRICS[metric] || [metric.replace(/_/g, " "), metric, (v) => nf2.format(v)];
        const box = chartBox(title);
        box.dataset.metric = metric;
        slot.append(box);
        const colors = palette();
        draws.push(() => lines(box, mine.map((r) => dayFmt.format(new Date(r.day + "T00:00:00Z"))), [
          { label: "value", values: mine.map((r) => r.value), color: colors[0] },
          { label: "baseline median", values: mine.map((r) => r.baseline_median), dash: [5, 4], points: false, color: colors[5] },
          { label: "flagged", values: mine.map((r) => (r.flagged ? r.value : null)), points: "only", color: colors[4] },
        ], yLabel, fmt, dayUnit()));
      }
      const flagged = rows.filter((r) => r.flagged);
      if (flagged.length) {
        slot.append(el("h3", {}, "Flagged days"), table([
          { key: "day", label: dayUnit() },
          { key: "metric", label: "Metric" },
          { key: "value", label: "Value", num: true, fmt: (v, r) => (METRICS[r.metric] ? METRICS[r.metric][2](v) : v) },
          { key: "baseline_median", label: "Baseline median", num: true, fmt: (v, r) => (v === null ? "" : METRICS[r.metric] ? METRICS[r.metric][2](v) : v) },
          { key: "m_score", label: "M", num: true, fmt: (v) => (v === null ? "" : nf1.format(v)) },
          { key: "baseline", label: "Baseline" },
          { key: "new_versions", label: "New versions" },
          { key: "new_models", label: "New models" },
        ], flagged));
      } else {
        slot.append(empty("No day flagged in this period.", null));
      }
      slot.append(source("anomalies"));
    }
    root.append(el("h2", {}, "Changes by Claude Code version and model"));
    const reg = objects(D.regressions);
    if (!reg.length) {
      root.append(empty("No turns in this period.", SETUP_HINT + "."));
    } else {
      const box = chartBox("Failure rates by version and model, in the order each was first seen");
      root.append(box);
      const labels = reg.map((r) => (r.app_version || "?") + (reg.some((x) => x.model !== r.model) ? " · " + r.model.replace(/^claude-/, "") : ""));
      draws.push(() => lines(box, labels, [
        { label: "failed turns", values: reg.map((r) => r.failed_turn_rate) },
        { label: "API errors", values: reg.map((r) => r.api_error_rate) },
        { label: "tool failures", values: reg.map((r) => r.tool_failure_rate) },
        { label: "rejections", values: reg.map((r) => r.reject_rate) },
      ], "Rate", pct, "Claude Code version · model"));
      root.append(table([
        { key: "app_version", label: "Version" },
        { key: "model", label: "Model" },
        { key: "first_seen", label: "First seen", fmt: (v) => when(v) },
        { key: "sessions", label: "Sessions", num: true, fmt: int },
        { key: "prompts", label: "Turns", num: true, fmt: int },
        { key: "failed_turn_rate", label: "Failed turns", num: true, fmt: pct },
        { key: "api_error_rate", label: "API errors", num: true, fmt: pct },
        { key: "tool_failure_rate", label: "Tool failures", num: true, fmt: pct },
        { key: "reject_rate", label: "Rejections", num: true, fmt: pct },
      ], reg));
      root.append(source("regressions"));
    }
    root.draw = () => draws.forEach((d) => d());
  }

  // --- the frame: header, navigation, routing -----------------------------------------------

  const VIEWS = [
    ["overview", "Overview", viewOverview],
    ["cost", "Cost & tokens", viewCost],
    ["sessions", "Sessions", viewSessions],
    ["tools", "Tools", viewTools],
    ["errors", "Errors", viewErrors],
    ["anomalies", "Anomalies", viewAnomalies],
  ];
  const header = document.getElementById("top");
  const main = document.getElementById("app");
  const links = {};
  const sub = el("div", { class: "sub" });
  const bar = el("div", { class: "filters" });
  header.append(
    el("h1", {}, "Claude Code, as otelcap saw it"), sub, bar,
    el("nav", {}, VIEWS.map(([id, label]) => (links[id] = el("a", { href: "#" + id, "data-view": id }, label)))),
  );
  function drawHeader() {
    sub.replaceChildren(when(D.meta.since), " – ", when(D.meta.until), " · times in ", zoneLabel(),
      " · otelcap ", D.meta.otelcap, ...(SERVED && D.live ? [el("span", { class: "live", title: "refreshes by itself while the server stores more" },
        " · live")] : [])); // replaceChildren writes a null as the text "null"
    drawFilters();
  }

  // --- filters: the period and the labels of `otelcap query cost --by X` ---------------------

  const PERIODS = [["24h", "Last 24 hours"], ["7d", "Last 7 days"], ["30d", "Last 30 days"], ["90d", "Last 90 days"], ["365d", "Last year"]];
  const FILTER_LABELS = { model: "Model", project: "Project", user: "User", team: "Team" };
  const params = new URLSearchParams(SERVED ? location.search : "");
  let choices = {}; // filter → its values in the period (api/choices)
  function drawFilters() {
    const chosen = D.meta.filters || {};
    if (!SERVED) {
      // a report's filters were fixed when it was written: say which
      const fixed = Object.entries(chosen).map(([k, v]) => (FILTER_LABELS[k] || k) + ": " + v);
      bar.replaceChildren(...(fixed.length ? [el("span", { class: "muted", "data-filters": "fixed" }, "Only " + fixed.join(", "))] : []));
      return;
    }
    const since = params.get("since") || "30d";
    const periods = PERIODS.some((p) => p[0] === since) ? PERIODS : [[since, "Since " + since], ...PERIODS];
    const controls = [el("label", {}, "Period ", select("since", periods.map(([v, l]) => [v, l]), since))];
    for (const name of D.meta.filterable || []) {
      const values = choices[name] || [];
      const current = chosen[name] || "";
      if (!values.length && !current) continue; // the data has no such label
      const opts = [["", "all"], ...values.map((v) => [v, v])];
      if (current && !values.includes(current)) opts.push([current, current]);
      controls.push(el("label", {}, FILTER_LABELS[name] + " ", select(name, opts, current)));
    }
    bar.replaceChildren(...controls);
  }
  function select(name, options, current) {
    const s = el("select", { name, "data-filter": name },
      options.map(([v, l]) => el("option", { value: v, selected: v === current }, l)));
    s.addEventListener("change", () => {
      if (s.value) params.set(name, s.value);
      else params.delete(name);
      history.replaceState(null, "", "?" + params.toString() + location.hash);
      load(true);
    });
    return s;
  }

  // --- the served page's data -----------------------------------------------------------------

  let version = null, loading = null, polling = false;
  async function getJSON(url) {
    const r = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (!r.ok) throw new Error((body && body.error) || r.status + " " + r.statusText);
    return body;
  }
  function failed(err) {
    const msg = String(err && err.message ? err.message : err);
    main.dataset.error = msg;
    header.querySelector(".error")?.remove();
    header.append(el("div", { class: "empty error" }, el("b", {}, "The dashboard could not load its data: "), msg,
      /401/.test(msg) ? " Run otelcap ui again for a new link." : ""));
  }
  async function load(newChoices) {
    const mine = (loading = {});
    try {
      const data = await getJSON("api/data?" + params.toString());
      if (loading !== mine) return; // a newer request (a filter changed) was made meanwhile
      header.querySelector(".error")?.remove();
      version = data.live ? data.live.version : null;
      show(data);
      if (newChoices || !Object.keys(choices).length) {
        const since = params.get("since");
        choices = await getJSON("api/choices" + (since ? "?since=" + encodeURIComponent(since) : ""));
        drawFilters();
        bar.dataset.choices = Object.keys(choices).join(" ");
      }
    } catch (err) {
      failed(err);
    } finally {
      if (loading === mine) loading = null;
    }
  }
  async function fetchSession(sid) {
    try {
      const q = new URLSearchParams({ session: sid, since: D.meta.since, until: D.meta.until });
      const detail = await getJSON("api/session?" + q.toString());
      D.details[sid] = detail;
      route();
    } catch (err) {
      failed(err);
    }
  }
  async function poll() {
    // a cheap question, the stored row counts; the whole data again only when they moved.
    // Never beside a load in flight: on a big database the data takes longer than the
    // interval, and each poll's load would replace the last before it could finish.
    if (loading || polling) return;
    polling = true;
    try {
      const now = await getJSON("api/changes");
      if (version !== null && now.version !== version && !loading) await load(false);
    } catch (err) {
      failed(err);
    } finally {
      polling = false;
    }
  }
  const sections = {};
  for (const [id] of [...VIEWS, ["session"]]) {
    sections[id] = el("section", { class: "view", id: "view-" + id });
    main.append(sections[id]);
  }
  document.body.append(el("footer", {}, "Sanitized telemetry only: prompts, tool input and secrets were replaced before they were stored. ",
    "Every number is an answer of otelcap's query pack; each view names its query."));

  function route() {
    if (!D) return; // the served page before its data arrives
    const hash = decodeURIComponent(location.hash.slice(1)) || "overview";
    const [id, sid, prompt] = hash.split("/");
    const view = id === "session" ? "session" : VIEWS.some((v) => v[0] === id) ? id : "overview";
    for (const chart of live) chart.destroy();
    live = [];
    for (const [k, s] of Object.entries(sections)) {
      s.classList.toggle("active", k === view);
      if (k !== view) s.replaceChildren();
    }
    for (const [k, a] of Object.entries(links)) a.classList.toggle("active", k === view || (view === "session" && k === "sessions"));
    const root = sections[view];
    root.replaceChildren();
    root.draw = null;
    if (view === "session") viewSession(root, sid || "", prompt);
    else VIEWS.find((v) => v[0] === view)[2](root);
    if (root.draw) root.draw(); // charts need their box on screen to know its width
    document.title = (view === "session" ? "Session " + (sid || "").slice(0, 8) : links[view].textContent) + (SERVED ? " · otelcap" : " · otelcap report");
    main.dataset.rendered = view;
  }
  window.addEventListener("hashchange", route);
  let resizeTimer = null, lastWidth = window.innerWidth;
  window.addEventListener("resize", () => {
    if (window.innerWidth === lastWidth) return;
    lastWidth = window.innerWidth;
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(route, 150);
  });
  // charts take their colours when drawn: draw again when the system switches light/dark
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", route);
  let shown = 0;
  function show(data) {
    D = data;
    derive();
    drawHeader();
    const y = window.scrollY; // a refresh redraws the view: keep the reader where they were
    route();
    if (shown++) window.scrollTo(0, y);
    else performance.mark("otelcap-rendered"); // the first view is on screen: bench/ui.py reads it
    main.dataset.version = String(shown);
  }
  if (SERVED) {
    load(false).then(() => {
      if (D && D.live) setInterval(poll, D.live.poll_ms);
    });
  } else {
    show(JSON.parse(block.textContent));
  }
})();
