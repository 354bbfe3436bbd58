#!/usr/bin/env bash
# End-to-end on a real kind cluster with Istio (needs Docker): the healthy reference path must be
# proven, and every broken scenario must be contradicted on its segment.
#
#   scripts/e2e-kind.sh versions       print the pinned versions (fixtures/istio/versions.json)
#   scripts/e2e-kind.sh install-tools  install kind and istioctl at the pinned versions into $TOOLS_BIN
#   scripts/e2e-kind.sh run            mesh-verify up, path (healthy), path --scenario ... --expect contradicted
#   scripts/e2e-kind.sh summary        print every Markdown report (for $GITHUB_STEP_SUMMARY)
#   scripts/e2e-kind.sh down           delete the kind cluster
#
# Reports (bundle, JSON, JUnit, Markdown) go to $REPORT_ROOT/<healthy|scenario>/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSIONS_FILE="$ROOT/fixtures/istio/versions.json"
REPORT_ROOT="${REPORT_ROOT:-$ROOT/e2e-reports}"
TOOLS_BIN="${TOOLS_BIN:-$HOME/.local/bin}"
# The order matters: permissive-svc adds objects the other scenarios do not remove.
SCENARIOS=(dr-disable no-sidecar-svc permissive-svc)

pinned() { node -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[process.argv[2]]))' "$VERSIONS_FILE" "$1"; }
ISTIO_VERSION="$(pinned istio)"
KIND_VERSION="$(pinned kind)"
mesh_verify() { node "$ROOT/bin/mesh-verify.js" "$@"; }

cmd_versions() {
  echo "istio=$ISTIO_VERSION"
  echo "kind=$KIND_VERSION"
  echo "kindNodeImage=$(pinned kindNodeImage)"
}

cmd_install_tools() {
  local arch
  case "$(uname -m)" in
    x86_64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "unsupported machine $(uname -m)" >&2; exit 4 ;;
  esac
  mkdir -p "$TOOLS_BIN"
  curl -fsSLo "$TOOLS_BIN/kind" "https://kind.sigs.k8s.io/dl/${KIND_VERSION}/kind-linux-${arch}"
  chmod +x "$TOOLS_BIN/kind"
  curl -fsSL https://istio.io/downloadIstioctl | ISTIO_VERSION="$ISTIO_VERSION" sh -
  cp "$HOME/.istioctl/bin/istioctl" "$TOOLS_BIN/istioctl"
  if [ -n "${GITHUB_PATH:-}" ]; then echo "$TOOLS_BIN" >> "$GITHUB_PATH"; fi
  "$TOOLS_BIN/kind" version
  "$TOOLS_BIN/istioctl" version --remote=false
}

cmd_run() {
  export PATH="$TOOLS_BIN:$PATH"
  mkdir -p "$REPORT_ROOT"
  mesh_verify up
  mesh_verify path --keep --report-dir "$REPORT_ROOT/healthy"
  local failed=0 s
  for s in "${SCENARIOS[@]}"; do
    if ! mesh_verify path --keep --scenario "$s" --expect contradicted --report-dir "$REPORT_ROOT/$s"; then
      echo "scenario $s was not contradicted as expected" >&2
      failed=1
    fi
  done
  return "$failed"
}

cmd_summary() {
  local f found=0
  for f in "$REPORT_ROOT"/*/*.md; do
    [ -e "$f" ] || continue
    found=1
    printf '\n## %s\n\n' "$(basename "$(dirname "$f")")"
    cat "$f"
  done
  if [ "$found" = 0 ]; then echo "No mesh-verify report was written (see the job log)."; fi
}

cmd_down() {
  export PATH="$TOOLS_BIN:$PATH"
  mesh_verify down
}

case "${1:-run}" in
  versions) cmd_versions ;;
  install-tools) cmd_install_tools ;;
  run) cmd_run ;;
  summary) cmd_summary ;;
  down) cmd_down ;;
  *) echo "usage: $0 versions|install-tools|run|summary|down" >&2; exit 2 ;;
esac
