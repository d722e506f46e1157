#!/bin/sh
# One-shot (temporalio/admin-tools): creates Clearway's namespace and registers its custom search attributes.
# CLEARWAY_SEARCH_ATTRIBUTES mirrors CUSTOM_SEARCH_ATTRIBUTES in libs/temporal/search-attributes.ts
# (libs/temporal/deployment.spec.ts keeps the two in step). Idempotent: safe on every `up`.
set -eu
: "${TEMPORAL_ADDRESS:?}" "${CLEARWAY_SEARCH_ATTRIBUTES:?Name=Type pairs, space separated}"
NAMESPACE=${TEMPORAL_NAMESPACE:-default}
RETENTION=${TEMPORAL_NAMESPACE_RETENTION:-720h}

# The CLI may resolve the service name to an address the server does not listen on (as in temporalio/samples-server).
HOST=${TEMPORAL_ADDRESS%:*}
PORT=${TEMPORAL_ADDRESS##*:}
IP=$(getent ahosts "$HOST" 2>/dev/null | awk '$1 ~ /^[0-9.]+$/ { print $1; exit }')
ADDRESS="${IP:-$HOST}:$PORT"

# Retries a command: the server answers before its namespace cache has seen a new namespace.
retry() {
  attempt=0
  until "$@"; do
    attempt=$((attempt + 1))
    [ "$attempt" -lt 30 ] || { echo "giving up on: $*" >&2; return 1; }
    sleep 2
  done
}

echo "Waiting for Temporal at $ADDRESS..."
retry temporal operator cluster health --address "$ADDRESS" >/dev/null

if temporal operator namespace describe --address "$ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>&1; then
  echo "Namespace $NAMESPACE exists"
else
  temporal operator namespace create --address "$ADDRESS" --namespace "$NAMESPACE" --retention "$RETENTION"
fi

existing=$(retry temporal operator search-attribute list --address "$ADDRESS" --namespace "$NAMESPACE")
for pair in $CLEARWAY_SEARCH_ATTRIBUTES; do
  name=${pair%%=*}
  type=${pair#*=}
  if printf '%s\n' "$existing" | grep -qw -- "$name"; then
    echo "Search attribute $name exists"
  else
    retry temporal operator search-attribute create --address "$ADDRESS" --namespace "$NAMESPACE" \
      --name "$name" --type "$type"
  fi
done
echo "Namespace $NAMESPACE ready"
