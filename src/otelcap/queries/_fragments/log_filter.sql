-- The project, user and team filters on an otel_logs row, as conditions to AND into a WHERE
-- clause (`-- include: log_filter` after its other conditions). A filter is the label --by
-- prints, so filtering by a row of --by output keeps exactly that row's records; '' keeps
-- every record (and the label expression is not evaluated: OR stops at the first true).
AND ($project = '' OR
-- include: log_project
    = $project)
AND ($user = '' OR
-- include: log_user
    = $user)
AND ($team = '' OR
-- include: log_team
    = $team)
