#!/bin/sh
# Runs once, when the PostgreSQL volume is initialised (docker-entrypoint-initdb.d).
# Clearway gets its own role and database, separate from Temporal's `temporal` and `temporal_visibility`.
set -eu
: "${CLEARWAY_DB_PASSWORD:?}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v password="$CLEARWAY_DB_PASSWORD" <<'SQL'
CREATE ROLE clearway LOGIN PASSWORD :'password';
CREATE DATABASE clearway OWNER clearway;
SQL
