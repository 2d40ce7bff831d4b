#!/usr/bin/env bash
# Copy a data set folder into the claim "xray-data" through the data-loader Job's pod, then
# mark it loaded (the trainers' init containers wait for that mark).
#   deploy/k8s/load-data.sh data/covid19-image-dataset [namespace]
set -euo pipefail
src=${1:?usage: deploy/k8s/load-data.sh <data set folder> [namespace]}
ns=${2:-xray-trackbench}
[ -d "$src" ] || { echo "error: $src is not a folder" >&2; exit 2; }
kubectl -n "$ns" wait --for=condition=Ready pod -l app.kubernetes.io/name=data-loader --timeout=300s
pod=$(kubectl -n "$ns" get pod -l app.kubernetes.io/name=data-loader -o jsonpath='{.items[0].metadata.name}')
echo "copying $src into $pod:/data (kubectl cp) ..." >&2
for entry in "$src"/*; do
  kubectl -n "$ns" cp "$entry" "$pod:/data/$(basename "$entry")"
done
kubectl -n "$ns" exec "$pod" -- touch /data/.loaded
echo "loaded: the trainer Job's pods start now" >&2
