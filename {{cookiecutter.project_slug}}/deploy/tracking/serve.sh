#!/usr/bin/env bash
# The team's MLflow server: runs and models in PostgreSQL, artifacts in an S3 bucket the server proxies (clients need
# no S3 credentials), every request behind MLflow's basic-auth app. Every setting comes from the environment; see
# deploy/tracking/README.md.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

missing=()
for name in PGHOST MLFLOW_ARTIFACTS_DESTINATION MLFLOW_ALLOWED_HOSTS MLFLOW_FLASK_SERVER_SECRET_KEY; do
  [ -n "${!name:-}" ] || missing+=("$name")
done
if [ -n "${missing[*]}" ]; then
  echo "error: set ${missing[*]} (see deploy/tracking/README.md): the database, the bucket, the host names clients use, the key signing the UI's CSRF tokens" >&2
  exit 2
fi

export MLFLOW_AUTH_CONFIG_PATH="${MLFLOW_AUTH_CONFIG_PATH:-$here/basic_auth.ini}"
args=(
  --backend-store-uri "postgresql+psycopg2:///${MLFLOW_DATABASE:-mlflow}"
  --artifacts-destination "$MLFLOW_ARTIFACTS_DESTINATION"
  --app-name basic-auth
  --host "${MLFLOW_HOST:-127.0.0.1}"
  --port "${MLFLOW_PORT:-5000}"
  --workers "${MLFLOW_WORKERS:-2}"
  --allowed-hosts "$MLFLOW_ALLOWED_HOSTS"
)
# Browsers on other origins (a notebook server, a dashboard) that may call the API; unset: MLflow's localhost default.
if [ -n "${MLFLOW_CORS_ALLOWED_ORIGINS:-}" ]; then
  args+=(--cors-allowed-origins "$MLFLOW_CORS_ALLOWED_ORIGINS")
fi
exec "${MLFLOW_BIN:-mlflow}" server "${args[@]}"
