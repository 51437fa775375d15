# Shared by setup-cluster.sh, shutdown-cluster.sh and update-code.sh (sourced, not run).
CLUSTER_NAME=${SLUICE_KIND_CLUSTER:-sluice}
NAMESPACE=sluice
# The tag k8s/app/roles.yaml and k8s/broker.yaml pin; scripts/deploy-roles.ts holds the same.
IMAGE=sluice:0.1.0
INGRESS_NGINX_MANIFEST=https://raw.githubusercontent.com/kubernetes/ingress-nginx/controller-v1.12.0/deploy/static/provider/kind/deploy.yaml

say() { printf '%s: %s\n' "${0##*/}" "$*"; }

# Checks every tool first and names all that are missing, so that nothing is half done.
require_tools() {
  local missing=()
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "missing: ${missing[*]}" >&2
    for tool in "${missing[@]}"; do
      case "$tool" in
        kind) say "  kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation" >&2 ;;
        kubectl) say "  kubectl: https://kubernetes.io/docs/tasks/tools/ (or apt-get install kubectl)" >&2 ;;
        docker) say "  docker: https://docs.docker.com/engine/install/ (kind runs its nodes as containers)" >&2 ;;
      esac
    done
    exit 1
  fi
}

cluster_exists() {
  kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"
}

build_and_load_image() {
  say "building $IMAGE"
  docker build -t "$IMAGE" "$ROOT"
  say "loading $IMAGE into kind cluster $CLUSTER_NAME"
  kind load docker-image "$IMAGE" --name "$CLUSTER_NAME"
}

wait_for_rollouts() {
  say "waiting for every role to be ready"
  kubectl -n "$NAMESPACE" rollout status statefulset --timeout=300s
  kubectl -n "$NAMESPACE" rollout status deployment --timeout=300s
}
