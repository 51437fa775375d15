#!/usr/bin/env bash
# Rolls out the code in this checkout to the kind cluster setup-cluster.sh made: rebuilds the image, loads it, and
# restarts every role one pod at a time, waiting until each is ready again.
set -euo pipefail
ROOT=$(cd "${0%/*}" && pwd)
source "$ROOT/scripts/cluster-common.sh"
require_tools kind kubectl docker

if ! cluster_exists; then
  say "there is no kind cluster $CLUSTER_NAME; create it with ./setup-cluster.sh" >&2
  exit 1
fi
kubectl config use-context "kind-$CLUSTER_NAME" >/dev/null
build_and_load_image
say "applying k8s/ (in case the manifests changed)"
kubectl apply -k "$ROOT/k8s"
say "restarting every role"
kubectl -n "$NAMESPACE" rollout restart statefulset
kubectl -n "$NAMESPACE" rollout restart deployment
wait_for_rollouts
say "the new code is running"
