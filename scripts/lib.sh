# shellcheck shell=bash
# Helpers shared by scripts/run-demo and scripts/test: install what a fresh
# machine lacks, and nothing else. Sourced, not run.

GO_VERSION=1.26.8 # matches go.mod

log() { printf '==> %s\n' "$*" >&2; }

# as_root runs a command as root (directly, or through sudo when available).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else log "need root to run: $*"; return 1
  fi
}

# ensure_apt PKG... installs the Debian/Ubuntu packages that are missing;
# apt-get update runs only when something has to be installed.
ensure_apt() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    log "missing ${missing[*]} and no apt-get here: install them with your package manager"
    return 1
  fi
  log "installing ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# ensure_go puts the Go toolchain on PATH (the machine image ships it in
# /usr/local/go); without one there is nothing this script can fetch.
ensure_go() {
  for d in /usr/local/go/bin "$HOME/go/bin"; do
    case ":$PATH:" in *":$d:"*) ;; *) [ -d "$d" ] && PATH="$PATH:$d" ;; esac
  done
  export PATH
  command -v go >/dev/null 2>&1 && return 0
  log "no Go toolchain found: install Go $GO_VERSION (see go.mod) and retry"
  return 1
}
