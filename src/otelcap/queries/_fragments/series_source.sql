-- The rest of the SELECT of series_points and series_history (after series_points' label):
-- the points of the per-session sum metrics (_fragments/sum_points.sql).
        -- include: sum_points
      AND MetricName IN (
            'claude_code.active_time.total',
            'claude_code.commit.count',
            'claude_code.pull_request.count',
            'claude_code.lines_of_code.count'
        )
      AND SessionId <> ''
