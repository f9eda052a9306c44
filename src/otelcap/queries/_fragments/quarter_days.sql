-- Shared by cost and anomalies: the zone's day of each UTC quarter hour in `quarters` (the
-- distinct quarter_start the including query names), so a query reads the zone's wall clock
-- once per quarter instead of once per row. A quarter's rows share its day (`whole`) when
-- the zone's offset is the same from a second before the quarter to its last second (the
-- wall clock then runs 900 s: a transition, which falls on a whole second, shows as more or
-- less) and the quarter's first and last seconds fall on one day. Otherwise (a quarter with a
-- transition, or a local midnight inside it: an offset that is no multiple of 15 minutes) the
-- query dates its rows one by one, so every row lands where a per-row date puts it. A week
-- or month is made of days, so a whole quarter lies in one of those too.
quarter_days AS (
    SELECT
        quarter_start,
        day_start,
        day_start = CAST(date_trunc('day', last_local) AS DATE)
            AND (hour(last_local) * 3600 + minute(last_local) * 60 + second(last_local)
                 - hour(before_local) * 3600 - minute(before_local) * 60 - second(before_local)
                 + 86400) % 86400 = 900 AS whole
    FROM (
        -- each quarter's wall clock at its first and last seconds and a second before it;
        -- read as hour/minute/second, which both engines give in the zone (ClickHouse's
        -- zoned DateTime64 subtracts as instants, 900 s always)
        SELECT
            quarter_start,
            CAST(date_trunc('day', timezone($tz, timezone('UTC', quarter_start))) AS DATE) AS day_start,
            timezone($tz, timezone('UTC', quarter_start + INTERVAL 899 SECOND)) AS last_local,
            timezone($tz, timezone('UTC', quarter_start - INTERVAL 1 SECOND)) AS before_local
        FROM quarters
    ) AS local_edges
),
