#!/bin/sh
# mlflow server with the settings compose passes in. Secrets stay in the environment:
# MLFLOW_BACKEND_STORE_URI (the PostgreSQL URI with its password) is read by
# `mlflow server` itself, MLFLOW_SERVER_ALLOWED_HOSTS likewise; nothing secret is an argument.
set -eu
auth=""
if [ "${MLFLOW_AUTH:-false}" = "true" ]; then
  # opt-in basic auth: the admin account comes from .env through compose; printf is a
  # shell builtin, so the password is written to the private file without a process argument
  export MLFLOW_AUTH_CONFIG_PATH=/tmp/basic_auth.ini
  umask 077
  printf '[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:////home/mlflow/basic_auth.db\nadmin_username = %s\nadmin_password = %s\nauthorization_function = mlflow.server.auth:authenticate_request_basic_auth\n' \
    "${MLFLOW_ADMIN_USER}" "${MLFLOW_ADMIN_PASSWORD}" > "${MLFLOW_AUTH_CONFIG_PATH}"
  auth="--app-name basic-auth"
fi
: "${MLFLOW_BACKEND_STORE_URI:?MLFLOW_BACKEND_STORE_URI is not set (docker-compose.yml builds it from .env)}"
# shellcheck disable=SC2086  # $auth is empty or two words on purpose
exec mlflow server ${auth} \
  --artifacts-destination "s3://${S3_BUCKET}/" \
  --serve-artifacts \
  --host 0.0.0.0 --port 5000 \
  --workers "${MLFLOW_WORKERS:-1}" \
  "$@"
