-- The user of a metric point, as _fragments/log_user.sql reads it for a log row.
coalesce(
    nullif(Attributes['user.email'], ''), nullif(Attributes['user.account_uuid'], ''),
    nullif(Attributes['user.id'], ''), '(no user)')
