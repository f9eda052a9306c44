-- name: anomalies
-- description: Days whose cost, API error rate or API p95 latency stands out from the days before them (a trailing modified z-score), with the baseline each was judged against and the Claude Code versions and models first seen that day.
-- param: since timestamp 1970-01-01 days from the one holding this time (7d, 12h, 2026-11-01, ISO time); baselines read the 56 days before it too
-- param: until timestamp 2200-01-01 events before this time
-- param: session text '' only this session id ('' = every session)
-- filters: project user team model
-- param: threshold float 3.5 flag a day when |M| is above this (cost: when M is)
-- param: min_history int 7 days of history a day needs in the 28 days before it to be judged
-- param: min_requests int 20 model calls a day needs for its error rate and p95 to count
-- param: tz text UTC the IANA time zone whose days are judged (the CLI passes the local one; --timezone, --utc)
--
-- One row per day (in the zone tz) and metric, for days with at least one model call (api_request or
-- api_error); a day without any is not a day of zero, so it is neither judged nor part of a
-- baseline. Metrics:
--   cost_usd             sum of api_request cost_usd; only rises are flagged (a cheap day is
--                        a day off, not a problem)
--   api_error_rate       api_error / (api_request + api_error): failed model calls per call,
--                        the model step's own denominator (failed turns would mix in tool
--                        failures and rejections, which `regressions` and `error-analysis`
--                        show); judged only on days with min_requests calls or more
--   api_duration_p95_ms  95th percentile of api_request duration_ms (exact on both engines);
--                        judged only on days with min_requests timed requests or more
-- Error rate and latency are flagged both ways: a fall can mean calls failing fast or a
-- model switch. Today is judged on what has arrived so far.
-- The score (Iglewicz and Hoaglin): M = 0.6745 (value - median) / MAD, median and MAD (the
-- median absolute deviation) of the baseline days, which never include the day itself;
-- flagged when M > threshold (3.5; cost) or |M| > threshold. Baseline (`baseline` column):
--   previous 28 days                the judged days among the 28 days before; at least
--                                   min_history (7) of them, else `too little history`
--   same weekday, previous 8 weeks  once 21 of those 28 days are judged days (a weekly rhythm
--                                   to follow) and 3 or more of the 8 same weekdays before
--                                   are: a Sunday is compared with Sundays
-- mad_used is the MAD with a floor, because MAD is 0 on a flat series and M would be
-- infinite: at least a tenth of the median (so a flat series flags a change of more than
-- 3.5 / 0.6745 x 10% = 52%) and at least 0.25 USD of cost (a rise under 1.30 USD is never an
-- anomaly), 0.02 of error rate (10 points: with 20 calls at a 1.5% error rate, 3 errors by
-- chance happen on 1 day in 300), 100 ms of latency.
-- new_versions and new_models: the Claude Code versions and models whose first api_request
-- (before `until`) fell on that day: a jump that starts with one is a change to look at.
WITH call_times AS (
    SELECT
        Timestamp,
        time_bucket(INTERVAL 15 MINUTE, Timestamp) AS quarter_start,
        EventName,
        CostUsd,
        CASE WHEN EventName = 'api_request' THEN DurationMs END AS request_ms
    FROM otel_logs
    WHERE EventName IN ('api_request', 'api_error')
      -- 56 days of baselines, and one more: a local day starts up to 14 h from a UTC one
      AND Timestamp >= date_trunc('day', $since) - INTERVAL 57 DAY
      AND Timestamp < $until
      AND ($session = '' OR SessionId = $session)
      -- include: log_filter
      -- include: model_filter
),
quarters AS (
    -- the zone's day read once per UTC quarter hour, not once per call (at 10M events,
    -- Europe/Berlin: 862 → 509 ms; 1M, UTC: 129 → 107); the calls of a quarter that is not
    -- whole are dated one by one below
    SELECT DISTINCT quarter_start FROM call_times
),
-- include: quarter_days
calls AS (
    SELECT
        CASE
            WHEN q.whole THEN q.day_start
            ELSE CAST(date_trunc('day', timezone($tz, timezone('UTC', c.Timestamp))) AS DATE)
        END AS call_day,
        c.EventName,
        c.CostUsd,
        c.request_ms
    FROM call_times AS c
    JOIN quarter_days AS q ON q.quarter_start = c.quarter_start
),
per_day AS (
    SELECT
        call_day,
        count(*) FILTER (WHERE EventName = 'api_request') AS requests,
        count(*) FILTER (WHERE EventName = 'api_error') AS errors,
        coalesce(sum(CostUsd) FILTER (WHERE EventName = 'api_request'), 0) AS cost,
        count(request_ms) AS timed,
        quantile_cont(request_ms, 0.95) AS p95
    FROM calls
    GROUP BY call_day
),
metric_names AS (
    SELECT 'cost_usd' AS metric_name
    UNION ALL SELECT 'api_error_rate'
    UNION ALL SELECT 'api_duration_p95_ms'
),
series AS (
    -- one row per day and metric. ClickHouse computes a CTE again wherever it is named, so
    -- each step below names the one before it once or twice, never per metric.
    SELECT
        d.call_day AS day,
        n.metric_name AS metric,
        CASE n.metric_name
            WHEN 'cost_usd' THEN CAST(d.cost AS DOUBLE)
            WHEN 'api_error_rate' THEN d.errors / (d.requests + d.errors)
            ELSE CAST(d.p95 AS DOUBLE)
        END AS value,
        CAST(CASE WHEN n.metric_name = 'api_duration_p95_ms' THEN d.timed ELSE d.requests + d.errors END AS BIGINT) AS calls,
        CASE n.metric_name
            WHEN 'cost_usd' THEN true
            WHEN 'api_error_rate' THEN d.requests + d.errors >= $min_requests
            ELSE d.timed >= $min_requests
        END AS eligible
    FROM per_day AS d
    CROSS JOIN metric_names AS n
    WHERE n.metric_name <> 'api_duration_p95_ms' OR d.timed > 0
),
pairs AS (
    -- each day with every judged day of its metric in the 56 days before it
    SELECT day, metric, past, gap
    FROM (
        SELECT s.day, s.metric, h.value AS past, date_diff('day', h.day, s.day) AS gap
        FROM series AS s
        JOIN series AS h ON h.metric = s.metric
        WHERE h.eligible
    ) AS joined
    WHERE gap BETWEEN 1 AND 56
),
medians AS (
    -- both baselines at once: the previous 28 days, and the same weekday of 8 weeks
    SELECT
        day AS median_day,
        metric AS median_metric,
        count(*) FILTER (WHERE gap <= 28) AS trailing_days,
        quantile_cont(CASE WHEN gap <= 28 THEN past END, 0.5) AS trailing_median,
        count(*) FILTER (WHERE gap % 7 = 0) AS weekday_days,
        quantile_cont(CASE WHEN gap % 7 = 0 THEN past END, 0.5) AS weekday_median
    FROM pairs
    GROUP BY day, metric
),
spreads AS (
    -- DuckDB's mad() written out, median(|x - median(x)|), so both engines compute it exactly
    SELECT
        p.day AS spread_day,
        p.metric AS spread_metric,
        m.trailing_days,
        m.trailing_median,
        quantile_cont(CASE WHEN p.gap <= 28 THEN abs(p.past - m.trailing_median) END, 0.5)
            AS trailing_mad,
        m.weekday_days,
        m.weekday_median,
        quantile_cont(CASE WHEN p.gap % 7 = 0 THEN abs(p.past - m.weekday_median) END, 0.5)
            AS weekday_mad
    FROM pairs AS p
    JOIN medians AS m ON m.median_day = p.day AND m.median_metric = p.metric
    GROUP BY
        p.day, p.metric, m.trailing_days, m.trailing_median, m.weekday_days, m.weekday_median
),
judged AS (
    SELECT
        s.day AS day,
        s.metric AS metric,
        s.value AS value,
        s.calls AS calls,
        s.eligible AS eligible,
        CAST(coalesce(sp.trailing_days, 0) AS BIGINT) AS history_days,
        s.eligible AND coalesce(sp.trailing_days, 0) >= $min_history AS has_baseline,
        -- a weekly rhythm to follow once 21 of the 28 days are judged days, and 3 or more of
        -- the 8 same weekdays before are
        coalesce(sp.trailing_days >= 21 AND sp.weekday_days >= 3, false) AS by_weekday,
        sp.trailing_median,
        sp.trailing_mad,
        sp.weekday_median,
        sp.weekday_mad
    FROM series AS s
    LEFT JOIN spreads AS sp ON sp.spread_day = s.day AND sp.spread_metric = s.metric
    -- since's day in tz; since is kept after 1970-01-02, because ClickHouse's DATE wraps a
    -- day before 1970 (1969-12-31 in Honolulu, for the default since) round to 2149
    WHERE s.day >= CAST(date_trunc('day', timezone($tz, timezone('UTC',
        greatest($since, CAST('1970-01-02' AS TIMESTAMP))))) AS DATE)
),
chosen AS (
    SELECT
        day,
        metric,
        value,
        calls,
        eligible,
        history_days,
        has_baseline,
        CASE WHEN by_weekday THEN 'same weekday, previous 8 weeks' ELSE 'previous 28 days' END
            AS baseline_kind,
        CASE WHEN by_weekday THEN weekday_median ELSE trailing_median END AS base_median,
        CASE WHEN by_weekday THEN weekday_mad ELSE trailing_mad END AS base_mad
    FROM judged
),
scored AS (
    SELECT
        *,
        CASE WHEN has_baseline THEN greatest(
            base_mad,
            0.1 * abs(base_median),
            CASE metric WHEN 'cost_usd' THEN 0.25 WHEN 'api_error_rate' THEN 0.02 ELSE 100.0 END
        ) END AS mad_floored
    FROM chosen
),
final AS (
    SELECT
        *,
        CASE WHEN has_baseline THEN 0.6745 * (value - base_median) / mad_floored END AS m
    FROM scored
),
first_seen AS (
    SELECT 'version' AS kind, AppVersion AS name, min(Timestamp) AS first_at
    FROM otel_logs
    WHERE EventName = 'api_request' AND AppVersion <> '' AND Timestamp < $until
      AND ($session = '' OR SessionId = $session)
      -- include: log_filter
      -- include: model_filter
    GROUP BY AppVersion
    UNION ALL
    SELECT 'model', Model, min(Timestamp)
    FROM otel_logs
    WHERE EventName = 'api_request' AND Model <> '' AND Timestamp < $until
      AND ($session = '' OR SessionId = $session)
      -- include: log_filter
      -- include: model_filter
    GROUP BY Model
),
firsts AS (
    SELECT kind, name, CAST(date_trunc('day', timezone($tz, timezone('UTC', first_at))) AS DATE) AS first_day FROM first_seen
),
new_versions AS (
    SELECT first_day AS version_day, string_agg(DISTINCT name, ', ' ORDER BY name) AS names
    FROM firsts
    WHERE kind = 'version'
    GROUP BY first_day
),
new_models AS (
    SELECT first_day AS model_day, string_agg(DISTINCT name, ', ' ORDER BY name) AS names
    FROM firsts
    WHERE kind = 'model'
    GROUP BY first_day
)
SELECT
    f.day,
    f.metric,
    f.value,
    f.calls,
    f.history_days,
    CASE WHEN f.has_baseline THEN f.baseline_kind ELSE '' END AS baseline,
    CASE WHEN f.has_baseline THEN f.base_median END AS baseline_median,
    CASE WHEN f.has_baseline THEN f.base_mad END AS mad,
    f.mad_floored AS mad_used,
    f.m AS m_score,
    -- a Bool on both engines (ClickHouse's AND answers UInt8)
    CAST(coalesce(
        f.has_baseline AND (CASE WHEN f.metric = 'cost_usd' THEN f.m ELSE abs(f.m) END) > $threshold,
        false
    ) AS BOOLEAN) AS flagged,
    CASE
        WHEN NOT f.eligible
            THEN 'too few model calls: ' || CAST(f.calls AS VARCHAR) || ' of '
                || CAST($min_requests AS VARCHAR)
        WHEN NOT f.has_baseline
            THEN 'too little history: ' || CAST(f.history_days AS VARCHAR) || ' of '
                || CAST($min_history AS VARCHAR) || ' days'
        WHEN f.m > $threshold THEN 'above the baseline'
        WHEN f.m < -$threshold AND f.metric = 'cost_usd' THEN 'below the baseline (only rises are flagged for cost)'
        WHEN f.m < -$threshold THEN 'below the baseline'
        ELSE 'within the baseline'
    END AS reason,
    coalesce(nv.names, '') AS new_versions,
    coalesce(nm.names, '') AS new_models
FROM final AS f
LEFT JOIN new_versions AS nv ON nv.version_day = f.day
LEFT JOIN new_models AS nm ON nm.model_day = f.day
ORDER BY f.day, f.metric
