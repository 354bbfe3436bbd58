#!/usr/bin/env bash
# End-to-end on a real kind cluster with Istio (needs Docker): the healthy reference path must be
# proven, and every broken scenario must be contradicted on its segment.
#
#   scripts/e2e-kind.sh matrix         print the nightly matrix (JSON): the istioMatrix rows of
#                                      fixtures/istio/versions.json whose downloads are pinned
#   scripts/e2e-kind.sh versions       print the pinned versions (of the row $MESH_VERIFY_ISTIO, or the default)
#   scripts/e2e-kind.sh install-tools  download kind and istioctl at those versions into $TOOLS_BIN,
#                                      each checked against its pinned sha256 (exit 4 on a mismatch or no pin)
#   scripts/e2e-kind.sh verify F SUM   exit 4 (removing F) unless sha256(F) is SUM
#   scripts/e2e-kind.sh run            mesh-verify up, path (healthy), path --scenario ... --expect contradicted
#   scripts/e2e-kind.sh collect-logs   kind export logs and kubectl describe into $REPORT_ROOT/diagnostics
#   scripts/e2e-kind.sh diff-previous  mesh-verify diff of the previous night's healthy bundle
#                                      ($PREVIOUS_ROOT/healthy/bundle.json) against tonight's; exit 1
#                                      when something regressed; says so and exits 0 when there is none
#   scripts/e2e-kind.sh summary        print every Markdown report (for $GITHUB_STEP_SUMMARY)
#   scripts/e2e-kind.sh down           delete the kind cluster
#
# Reports (bundle, JSON, JUnit, Markdown) go to $REPORT_ROOT/<healthy|scenario>/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSIONS_FILE="$ROOT/fixtures/istio/versions.json"
REPORT_ROOT="${REPORT_ROOT:-$ROOT/e2e-reports}"
PREVIOUS_ROOT="${PREVIOUS_ROOT:-$ROOT/previous-reports}"
TOOLS_BIN="${TOOLS_BIN:-$HOME/.local/bin}"
KIND_CLUSTER=mesh-verify
# The order matters: permissive-svc adds objects the other scenarios do not remove.
SCENARIOS=(dr-disable no-sidecar-svc permissive-svc)
# Namespaces whose objects `collect-logs` describes.
DESCRIBE_NAMESPACES=(mesh-verify istio-system)

# pins KEY: one value of versions.json for the selected row ($MESH_VERIFY_ISTIO: a minor or a
# version of istioMatrix; default: the top-level istio). Keys: istio kind kindNodeImage
# kindSha256.<os-arch> istioSha256.<os-arch>; an unpinned sum prints nothing.
pins() {
  node -e '
    const v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const want = (process.env.MESH_VERIFY_ISTIO || "").trim() || v.istio;
    const row = v.istioMatrix.rows.find((r) => r.minor === want || r.istio === want);
    if (!row) { console.error(`MESH_VERIFY_ISTIO=${want} is not a row of fixtures/istio/versions.json istioMatrix`); process.exit(2); }
    const [key, sub] = process.argv[2].split(".");
    const value = { istio: row.istio, kindNodeImage: row.kindNodeImage, kind: v.kind, kindSha256: v.kindSha256, istioSha256: row.istioSha256 }[key];
    process.stdout.write(String((sub ? (value || {})[sub] : value) ?? ""));
  ' "$VERSIONS_FILE" "$1"
}
mesh_verify() { node "$ROOT/bin/mesh-verify.js" "$@"; }

cmd_matrix() {
  node -e '
    const v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const include = [];
    for (const r of v.istioMatrix.rows) {
      if (r.istioSha256["linux-amd64"] && v.kindSha256["linux-amd64"]) include.push({ istio: r.minor, version: r.istio });
      else console.error(`::warning::Istio ${r.istio} (supported) is not run: no published sha256 of its linux-amd64 download is pinned in fixtures/istio/versions.json`);
    }
    process.stdout.write(JSON.stringify({ include }) + "\n");
  ' "$VERSIONS_FILE"
}

cmd_versions() {
  local istio kind image
  istio="$(pins istio)"
  kind="$(pins kind)"
  image="$(pins kindNodeImage)"
  printf 'istio=%s\nkind=%s\nkindNodeImage=%s\n' "$istio" "$kind" "$image"
}

# verify FILE SHA256: exit 4 (and remove FILE) unless its sha256 is the pinned one.
cmd_verify() {
  local file="$1" want="$2" got
  got="$(sha256sum "$file" | cut -d' ' -f1)"
  if [ "$got" != "$want" ]; then
    rm -f "$file"
    echo "sha256 mismatch for $(basename "$file"): got $got, pinned $want (fixtures/istio/versions.json)" >&2
    exit 4
  fi
}

# need_pin WHAT SHA256: refuse, before any download, a file without a published sum.
need_pin() {
  if [ -z "$2" ]; then
    echo "no published sha256 pinned for $1 in fixtures/istio/versions.json: refusing an unverified download" >&2
    exit 4
  fi
}

fetch_verified() {
  curl -fsSL --retry 3 -o "$2" "$1"
  cmd_verify "$2" "$3"
}

cmd_install_tools() {
  local arch istio kind kind_sum istio_sum tmp
  case "$(uname -m)" in
    x86_64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "unsupported machine $(uname -m)" >&2; exit 4 ;;
  esac
  istio="$(pins istio)"
  kind="$(pins kind)"
  kind_sum="$(pins "kindSha256.linux-${arch}")"
  istio_sum="$(pins "istioSha256.linux-${arch}")"
  need_pin "kind ${kind} linux-${arch}" "$kind_sum"
  need_pin "istio ${istio} linux-${arch}" "$istio_sum"
  mkdir -p "$TOOLS_BIN"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' RETURN
  fetch_verified "https://github.com/kubernetes-sigs/kind/releases/download/${kind}/kind-linux-${arch}" "$tmp/kind" "$kind_sum"
  install -m 0755 "$tmp/kind" "$TOOLS_BIN/kind"
  fetch_verified "https://github.com/istio/istio/releases/download/${istio}/istio-${istio}-linux-${arch}.tar.gz" "$tmp/istio.tar.gz" "$istio_sum"
  tar -xzf "$tmp/istio.tar.gz" -C "$tmp" "istio-${istio}/bin/istioctl"
  install -m 0755 "$tmp/istio-${istio}/bin/istioctl" "$TOOLS_BIN/istioctl"
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

# What a failed run leaves for diagnosis: the node logs (kubelet, containerd, pods) and the state
# of every object of the path. Best effort: a missing cluster is said, not an error.
cmd_collect_logs() {
  export PATH="$TOOLS_BIN:$PATH"
  local out="$REPORT_ROOT/diagnostics" ns
  mkdir -p "$out"
  if ! kind export logs "$out/kind-logs" --name "$KIND_CLUSTER"; then
    echo "kind export logs failed (no cluster $KIND_CLUSTER?)" > "$out/kind-logs.txt"
  fi
  for ns in "${DESCRIBE_NAMESPACES[@]}"; do
    kubectl --context "kind-$KIND_CLUSTER" describe pods,deployments,services,endpoints,secrets -n "$ns" > "$out/describe-$ns.txt" 2>&1 || true
    kubectl --context "kind-$KIND_CLUSTER" get events -n "$ns" --sort-by=.lastTimestamp > "$out/events-$ns.txt" 2>&1 || true
  done
  kubectl --context "kind-$KIND_CLUSTER" describe destinationrules,peerauthentications,gateways,virtualservices -A > "$out/describe-istio-config.txt" 2>&1 || true
  echo "diagnostics in $out"
}

# Tonight's healthy run against the previous night's (downloaded by the workflow into
# $PREVIOUS_ROOT): the before/after check of whatever changed in between. The Markdown lands in
# $REPORT_ROOT/diff-previous/report.md, so `summary` shows it and the artifact keeps it.
cmd_diff_previous() {
  local old="$PREVIOUS_ROOT/healthy/bundle.json" new="$REPORT_ROOT/healthy/bundle.json" out="$REPORT_ROOT/diff-previous" rc=0
  if [ ! -f "$old" ]; then
    echo "no previous night's bundle ($old): diff skipped"
    return 0
  fi
  if [ ! -f "$new" ]; then
    echo "tonight's healthy run wrote no bundle ($new): nothing to compare with the previous night's" >&2
    return 1
  fi
  mkdir -p "$out"
  mesh_verify diff "$old" "$new" -o markdown > "$out/report.md" || rc=$?
  mesh_verify diff "$old" "$new" -o junit > "$out/junit.xml" || true
  mesh_verify diff "$old" "$new" || true
  return "$rc"
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
  matrix) cmd_matrix ;;
  versions) cmd_versions ;;
  install-tools) cmd_install_tools ;;
  verify) cmd_verify "${2:?verify FILE SHA256}" "${3:?verify FILE SHA256}" ;;
  run) cmd_run ;;
  collect-logs) cmd_collect_logs ;;
  diff-previous) cmd_diff_previous ;;
  summary) cmd_summary ;;
  down) cmd_down ;;
  *) echo "usage: $0 matrix|versions|install-tools|verify|run|collect-logs|diff-previous|summary|down" >&2; exit 2 ;;
esac
