-- The model filter on an otel_logs row or a metric point (both have the typed Model column),
-- as --by model labels it; '' keeps every row.
AND ($model = '' OR Model = $model)
