-- Shared by sessions and outcomes: the per-session metric sums (active time, commits, pull
-- requests, lines of code) as increments (_fragments/series_increments.sql), with no group
-- label. Expanded where a query says `-- include: session_increments`; sessions-by writes
-- its own series_points, whose label is the point's --by group.
series_points AS (
    SELECT
        '' AS label,
        -- include: series_source
),
series_history AS (
    SELECT
        -- include: series_source
),
-- include: series_increments
