#!/usr/bin/env bash
# Roll one image out to an overlay, smoke-test it through a port-forward, and undo the rollout when either fails.
# Usage: deploy/k8s/deploy.sh OVERLAY IMAGE SMOKE_CLI   (`make deploy OVERLAY=prod IMAGE=...` calls it; docs/deploy.md)
#   IMAGE      name:tag or name@sha256:digest; it replaces the overlay's image, nothing else changes
#   SMOKE_CLI  the project's command line: its `smoke` sub-command checks the service
# Environment: KUBE_CONFIG (a kubeconfig's content; else kubectl's own configuration), ROLLOUT_TIMEOUT (default 5m),
# SMOKE_PORT (the local end of the port-forward, default 18080), SMOKE_TIMEOUT (seconds to get ready, default 60).
set -euo pipefail

overlay=${1:?usage: deploy.sh OVERLAY IMAGE SMOKE_CLI}
image=${2:-}
cli=${3:?usage: deploy.sh OVERLAY IMAGE SMOKE_CLI}
deployment=serve service=serve # deploy/k8s/base
overlays=$(cd "$(dirname "$0")/overlays" && pwd)

fail() {
  echo "::error::$*"
  exit 1
}

[[ $overlay =~ ^[a-z0-9-]+$ && -f "$overlays/$overlay/kustomization.yaml" ]] ||
  fail "no overlay '$overlay' in deploy/k8s/overlays: choose one of $(cd "$overlays" && echo */ | tr -d /)"
[ -n "$image" ] || fail "IMAGE is not set: make deploy OVERLAY=$overlay IMAGE=<registry>/<name>@sha256:<digest> (or :<tag>)"
command -v kubectl > /dev/null || fail "kubectl is not on PATH: install it (https://kubernetes.io/docs/tasks/tools/)"

# The image as kustomize's images transformer takes it: a name, and a digest or a tag.
if [[ $image == *@* ]]; then
  pin="newName: ${image%@*}
    digest: ${image#*@}"
elif [[ ${image##*/} == *:* ]]; then
  pin="newName: ${image%:*}
    newTag: ${image##*:}"
else
  fail "IMAGE $image has neither a tag nor a digest: name the exact image to roll out"
fi

work=$(mktemp -d)
pinned=$(mktemp -d "$overlays/.pinned.XXXXXX") # next to the overlay: kustomize takes a base by relative path only
forward=""
cleanup() {
  if [ -n "$forward" ]; then kill "$forward" 2> /dev/null || true; fi
  rm -rf "$work" "$pinned"
}
trap cleanup EXIT

if [ -n "${KUBE_CONFIG:-}" ]; then
  (umask 077 && printf '%s\n' "$KUBE_CONFIG" > "$work/kubeconfig")
  export KUBECONFIG="$work/kubeconfig"
fi

# The overlay with the image pinned: a kustomization of its own that takes the overlay as its base.
cat > "$pinned/kustomization.yaml" << EOF
resources:
  - ../$overlay
images:
  - name: {{ cookiecutter.project_slug }}-serve
    $pin
EOF
kubectl kustomize "$pinned" > "$work/manifests.yaml"
namespace=$(awk '$1 == "namespace:" { print $2; exit }' "$work/manifests.yaml")
where=${namespace:-the current namespace}
ns=()
if [ -n "$namespace" ]; then ns=(--namespace "$namespace"); fi

roll_back() {
  echo "$1: the pods and the latest events, then the rollout is undone"
  kubectl ${ns[@]+"${ns[@]}"} get pods -o wide || true
  kubectl ${ns[@]+"${ns[@]}"} get events --sort-by=.lastTimestamp 2> /dev/null | tail -n 15 || true
  if kubectl ${ns[@]+"${ns[@]}"} rollout undo "deployment/$deployment"; then
    kubectl ${ns[@]+"${ns[@]}"} rollout status "deployment/$deployment" --timeout "${ROLLOUT_TIMEOUT:-5m}" || true
    fail "$1: deployment/$deployment in $where is back at its previous revision"
  fi
  fail "$1, and the undo failed (a first rollout has no previous revision): look at deployment/$deployment in $where"
}

echo "rolling out $image to $where ($overlay)"
kubectl ${ns[@]+"${ns[@]}"} apply -f "$work/manifests.yaml"
kubectl ${ns[@]+"${ns[@]}"} rollout status "deployment/$deployment" --timeout "${ROLLOUT_TIMEOUT:-5m}" ||
  roll_back "the rollout did not finish"

port=${SMOKE_PORT:-18080}
kubectl ${ns[@]+"${ns[@]}"} port-forward "service/$service" "$port:80" > "$work/port-forward.log" 2>&1 &
forward=$!
if ! "$cli" smoke --url "http://127.0.0.1:$port" --timeout "${SMOKE_TIMEOUT:-60}"; then
  cat "$work/port-forward.log"
  roll_back "the smoke test failed"
fi
echo "deployed $image to $where"
