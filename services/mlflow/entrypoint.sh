#!/bin/sh
# Build the backend URI from the Postgres variables compose passes in, so the
# password lives only in .env, then hand over to mlflow server.
set -eu
exec mlflow server \
  --backend-store-uri "postgresql+psycopg2://${POSTGRES_USER}:${POSTGRES_PASSWORD}@postgres:5432/${POSTGRES_DB}" \
  --artifacts-destination "s3://${S3_BUCKET}/" \
  --serve-artifacts \
  --host 0.0.0.0 --port 5000 \
  --workers "${MLFLOW_WORKERS:-1}" \
  --allowed-hosts "mlflow:5000,localhost:${MLFLOW_PORT:-5000},127.0.0.1:${MLFLOW_PORT:-5000}" \
  "$@"
