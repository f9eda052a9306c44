-- The rest of outcomes' series_points and series_history (after series_points' label): the
-- points of the metrics a session's outcome is counted from (_fragments/sum_points.sql).
        -- include: sum_points
      AND MetricName IN (
            'claude_code.commit.count',
            'claude_code.pull_request.count',
            'claude_code.lines_of_code.count'
        )
      AND SessionId <> ''
