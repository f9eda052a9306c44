-- name: _ops/doctor-columns
-- description: every column of every table in the store's database (doctor: are otelcap's there)
SELECT table_name, column_name
FROM information_schema.columns
WHERE table_catalog = current_database()
