-- The rest of the SELECT of cost's series_points and series_history (after series_points'
-- label): the claude_code.cost.usage points (_fragments/sum_points.sql), which
-- _fragments/series_increments.sql turns into increments.
        -- include: sum_points
      AND MetricName = 'claude_code.cost.usage'
      -- include: model_filter
