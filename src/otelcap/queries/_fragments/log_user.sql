-- The user of an otel_logs row, as --by user and the user filter read it: as stored (hashed
-- under the privacy defaults), so users are grouped and filtered by their hashes.
coalesce(
    nullif(LogAttributes['user.email'], ''), nullif(UserAccountUuid, ''),
    nullif(LogAttributes['user.id'], ''), '(no user)')
