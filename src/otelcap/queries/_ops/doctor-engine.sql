-- name: _ops/doctor-engine
-- description: the engine's version and the database the store reads (doctor)
SELECT version() AS v, current_database() AS db
