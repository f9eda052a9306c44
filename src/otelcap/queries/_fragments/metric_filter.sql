-- The project, user and team filters on a metric point, as _fragments/log_filter.sql gives
-- them for a log row.
AND ($project = '' OR
-- include: metric_project
    = $project)
AND ($user = '' OR
-- include: metric_user
    = $user)
AND ($team = '' OR
-- include: metric_team
    = $team)
