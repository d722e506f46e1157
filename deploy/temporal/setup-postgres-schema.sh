#!/bin/sh
# One-shot (temporalio/admin-tools): creates Temporal's two databases and brings their schemas up to date.
# Safe to re-run: `create` tolerates an existing database and update-schema only applies missing versions.
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
DB_PORT=${DB_PORT:-5432}
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -u "$POSTGRES_USER" -p "$DB_PORT" "$@"
}

echo "Waiting for PostgreSQL at $POSTGRES_SEEDS:$DB_PORT..."
attempt=0
until nc -z -w 5 "$POSTGRES_SEEDS" "$DB_PORT"; do
  attempt=$((attempt + 1))
  [ "$attempt" -lt 60 ] || { echo "PostgreSQL not reachable" >&2; exit 1; }
  sleep 2
done

for db in "${DBNAME:-temporal}:temporal" "${VISIBILITY_DBNAME:-temporal_visibility}:visibility"; do
  name=${db%%:*}
  schema=${db#*:}
  echo "Setting up database $name ($schema schema)"
  sql_tool --db "$name" create
  sql_tool --db "$name" setup-schema -v 0.0
  sql_tool --db "$name" update-schema -d "$SCHEMA_DIR/$schema/versioned"
done
echo 'Temporal schema setup complete'
