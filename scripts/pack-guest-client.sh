#!/usr/bin/env bash
# `npm run pack:guest-client [-- --out DIR]`: the in-VM guest-client as DIR/guest-client-<version>.tar.gz
# (default DIR: dist/). Self-contained apart from Node.js >= 20.19 in the guest: compiled JS and its
# production node_modules (~4 MB), a /usr/local/bin wrapper, the systemd unit and install.sh.
# In the VM:  tar xzf guest-client-*.tar.gz && sudo ./guest-client-*/install.sh [--enable]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out="$repo/dist"
[ "${1:-}" = --out ] && out=$2
cd "$repo"
version=$(node -p 'require("./packages/guest-client/package.json").version')
name="guest-client-$version"
npx tsc -b packages/guest-client
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
top="$tmp/$name"
mkdir -p "$top/bin" "$top/lib/guest-client"
node scripts/stage-runtime.mjs "$top/lib/guest-client" packages/guest-client >/dev/null
sed -e 's/@NAME@/guest-client/' -e 's/@PKG@/guest-client/' -e 's|@NODE_FLAGS@||' \
    -e 's|lib="$here/../lib/guesthb"|lib="$here/../lib/guest-client"|' scripts/bin-wrapper.sh > "$top/bin/guest-client"
chmod 755 "$top/bin/guest-client"
cp systemd/guest/guest-client.service packages/guest-client/README.md scripts/guest_heartbeat.conf "$top/"
cat > "$top/install.sh" <<'INSTALL'
#!/bin/sh
# Installs guest-client into this VM: /usr/local/lib/guest-client (JS), /usr/local/bin/guest-client,
# /usr/local/lib/systemd/system/guest-client.service, /usr/local/share/doc/guest-client/README.md and,
# when absent, /etc/guest-client/heartbeat/guest_heartbeat.conf (else the shipped one goes beside it as .dist).
# --enable also enables and starts the unit. Needs Node.js >= 20.19 as `node` (or GUESTHB_NODE=/path).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
node=${GUESTHB_NODE:-$(command -v node || true)}
[ -n "$node" ] || { echo "install.sh: Node.js >= 20.19 is required (apt-get install nodejs, or GUESTHB_NODE=/path/to/node)" >&2; exit 1; }
"$node" -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || { echo "install.sh: $node is $("$node" --version); guest-client needs >= 20.19" >&2; exit 1; }
rm -rf /usr/local/lib/guest-client
mkdir -p /usr/local/lib/guest-client /usr/local/bin /usr/local/lib/systemd/system /usr/local/share/doc/guest-client
cp -R "$here/lib/guest-client/." /usr/local/lib/guest-client/
echo "$node" > /usr/local/lib/guest-client/NODE
install -m 0755 "$here/bin/guest-client" /usr/local/bin/guest-client
install -m 0644 "$here/guest-client.service" /usr/local/lib/systemd/system/guest-client.service
install -m 0644 "$here/README.md" /usr/local/share/doc/guest-client/README.md
conf=/etc/guest-client/heartbeat/guest_heartbeat.conf
if [ -e "$conf" ]; then
  install -m 0644 "$here/guest_heartbeat.conf" "$conf.dist"
  echo "install.sh: kept the existing $conf; the shipped one is $conf.dist"
else
  mkdir -p "$(dirname "$conf")" && install -m 0644 "$here/guest_heartbeat.conf" "$conf"
fi
echo "install.sh: installed $(/usr/local/bin/guest-client --version)"
if [ "${1:-}" = --enable ] && command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload
  systemctl enable --now guest-client.service
  echo "install.sh: guest-client.service enabled and started"
fi
INSTALL
chmod 755 "$top/install.sh"
mkdir -p "$out"
tar -C "$tmp" --owner=0 --group=0 --numeric-owner -czf "$out/$name.tar.gz" "$name"
echo "$out/$name.tar.gz"
