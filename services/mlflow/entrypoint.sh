#!/bin/sh
# mlflow server with the settings compose passes in. Secrets stay in the environment:
# MLFLOW_BACKEND_STORE_URI (the PostgreSQL URI with its password) is read by
# `mlflow server` itself, MLFLOW_SERVER_ALLOWED_HOSTS likewise; nothing secret is an argument.
set -eu
auth=""
if [ "${MLFLOW_AUTH:-true}" != "false" ]; then
  # login required (the default): settings from the image's basic_auth.ini, users in the
  # mlflow-auth volume; the admin login is MLFLOW_AUTH_ADMIN_USERNAME/PASSWORD from compose
  export MLFLOW_AUTH_CONFIG_PATH=/etc/mlflow/basic_auth.ini
  : "${MLFLOW_AUTH_ADMIN_PASSWORD:?MLFLOW_AUTH_ADMIN_PASSWORD is not set (docker-compose.yml takes it from .env)}"
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
