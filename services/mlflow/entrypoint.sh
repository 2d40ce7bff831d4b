#!/bin/sh
# Build the backend URI from the Postgres variables compose passes in, so the
# password lives only in .env, then hand over to mlflow server.
set -eu
auth=""
if [ "${MLFLOW_AUTH:-false}" = "true" ]; then
  # opt-in basic auth: the admin account comes from .env through compose
  export MLFLOW_AUTH_CONFIG_PATH=/tmp/basic_auth.ini
  printf '[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:////home/mlflow/basic_auth.db\nadmin_username = %s\nadmin_password = %s\nauthorization_function = mlflow.server.auth:authenticate_request_basic_auth\n' \
    "${MLFLOW_ADMIN_USER}" "${MLFLOW_ADMIN_PASSWORD}" > "${MLFLOW_AUTH_CONFIG_PATH}"
  auth="--app-name basic-auth"
fi
# shellcheck disable=SC2086  # $auth is empty or two words on purpose
exec mlflow server ${auth} \
  --backend-store-uri "postgresql+psycopg2://${POSTGRES_USER}:${POSTGRES_PASSWORD}@postgres:5432/${POSTGRES_DB}" \
  --artifacts-destination "s3://${S3_BUCKET}/" \
  --serve-artifacts \
  --host 0.0.0.0 --port 5000 \
  --workers "${MLFLOW_WORKERS:-1}" \
  --allowed-hosts "mlflow:5000,localhost:${MLFLOW_PORT:-5000},127.0.0.1:${MLFLOW_PORT:-5000}" \
  "$@"
