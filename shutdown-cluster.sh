#!/usr/bin/env bash
# Deletes the kind cluster setup-cluster.sh made, with everything in it (its volumes too). Safe to run again.
set -euo pipefail
ROOT=$(cd "${0%/*}" && pwd)
source "$ROOT/scripts/cluster-common.sh"
require_tools kind

if cluster_exists; then
  say "deleting kind cluster $CLUSTER_NAME"
  kind delete cluster --name "$CLUSTER_NAME"
else
  say "there is no kind cluster $CLUSTER_NAME; nothing to do"
fi
