#!/usr/bin/env bash
# Runs Sluice on a local kind cluster: creates the cluster (with the host's ports 80 and 443 for the ingress),
# installs ingress-nginx, builds the image and loads it into the cluster, applies k8s/ and waits until every role is
# ready, then prints the URLs. Safe to run again: an existing cluster is reused and the manifests re-applied.
set -euo pipefail
ROOT=$(cd "${0%/*}" && pwd)
source "$ROOT/scripts/cluster-common.sh"
require_tools kind kubectl docker

if cluster_exists; then
  say "kind cluster $CLUSTER_NAME exists; reusing it"
else
  say "creating kind cluster $CLUSTER_NAME"
  kind create cluster --name "$CLUSTER_NAME" --config "$ROOT/k8s/kind-cluster.yaml"
fi
kubectl config use-context "kind-$CLUSTER_NAME" >/dev/null

say "installing ingress-nginx"
kubectl apply -f "$INGRESS_NGINX_MANIFEST"
kubectl -n ingress-nginx wait --for=condition=ready pod -l app.kubernetes.io/component=controller --timeout=300s

build_and_load_image

say "applying k8s/"
kubectl apply -k "$ROOT/k8s"
wait_for_rollouts

say "Sluice is up on kind cluster $CLUSTER_NAME:"
kubectl -n "$NAMESPACE" get ingress sluice -o jsonpath='{range .spec.rules[0].http.paths[*]}  http://localhost{.path}{"\n"}{end}'
say "Kafka inside the cluster: sluice-broker-0.sluice-broker.$NAMESPACE:9092; stop with ./shutdown-cluster.sh"
