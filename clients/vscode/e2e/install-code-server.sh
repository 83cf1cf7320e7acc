#!/usr/bin/env bash
# Install code-server (VS Code for the web) for the extension's end-to-end test, once per
# machine: the result is cached outside the clone, so later CI runs reuse it.
#
#   clients/vscode/e2e/install-code-server.sh   -> prints the path of bin/code-server
#
# Cache: ${CODETAP_CI_CACHE:-$HOME/.cache/codetap-ci}/code-server-<version>. A finished
# install is marked by .codetap-installed; a half-done one is thrown away and redone.
#
# Why it is done this way (see issue 17):
# - 4.100.3 is the newest code-server for node 20 (later releases need node 22);
# - `npm install -g` fails under npm 11, so the package is packed, unpacked and its
#   production dependencies installed in place;
# - node-gyp builds native modules against the system headers (npm_config_nodedir=/usr);
#   node-pty's postinstall runs `npx node-gyp` (npm_config_yes) and code-server's
#   postinstall refuses root without npm_config_unsafe_perm;
# - @vscode/ripgrep's postinstall would download rg; it takes a cached tarball instead,
#   so one is made from the system's rg (apt: ripgrep).
# Needs (apt): build-essential pkg-config libsecret-1-dev libkrb5-dev ripgrep; node 20, npm.
set -euo pipefail

VERSION="${CODE_SERVER_VERSION:-4.100.3}"
CACHE="${CODETAP_CI_CACHE:-$HOME/.cache/codetap-ci}"
DEST="$CACHE/code-server-$VERSION"
STAMP="$DEST/.codetap-installed"

if [ -f "$STAMP" ] && [ -x "$DEST/out/node/entry.js" ]; then
  echo "$DEST/out/node/entry.js"
  exit 0
fi

for tool in node npm tar rg make g++ pkg-config; do
  command -v "$tool" >/dev/null || { echo "install-code-server: $tool is missing" >&2; exit 1; }
done
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" != 20 ]; then
  echo "install-code-server: code-server $VERSION needs node 20, found $(node --version)" >&2
  exit 1
fi

mkdir -p "$CACHE"
work="$(mktemp -d "$CACHE/.install-XXXXXX")"
trap 'rm -rf "$work"' EXIT
rm -rf "$DEST"

(cd "$work" && npm pack --silent "code-server@$VERSION" >/dev/null)
tar xzf "$work/code-server-$VERSION.tgz" -C "$work"

# The rg tarball @vscode/ripgrep's postinstall looks for, in $TMPDIR/vscode-ripgrep-cache-<v>.
export TMPDIR="$work/tmp"
mkdir -p "$TMPDIR/rg"
cp "$(command -v rg)" "$TMPDIR/rg/rg"
rg_versions="$(node -e '
  const seen = new Set();
  for (const f of process.argv.slice(1)) {
    let lock; try { lock = require(f); } catch { continue; }
    for (const [k, v] of Object.entries(lock.packages || {}))
      if (k.endsWith("node_modules/@vscode/ripgrep")) seen.add(v.version);
  }
  console.log([...seen].join(" "));
' "$work/package/npm-shrinkwrap.json" "$work/package/lib/vscode/npm-shrinkwrap.json")"
for v in $rg_versions; do
  mkdir -p "$TMPDIR/vscode-ripgrep-cache-$v"
  for rel in 10 13; do
    tar czf "$TMPDIR/vscode-ripgrep-cache-$v/ripgrep-v13.0.0-$rel-x86_64-unknown-linux-musl.tar.gz" \
      -C "$TMPDIR/rg" rg
  done
done

(
  cd "$work/package"
  export npm_config_nodedir=/usr npm_config_yes=true npm_config_unsafe_perm=true
  npm install --omit=dev --no-audit --no-fund --loglevel=error >&2
)

mv "$work/package" "$DEST"
touch "$STAMP"
echo "$DEST/out/node/entry.js"
