#!/usr/bin/env bash
# `npm run pack [-- --out DIR]`: builds the daemons and writes DIR/guesthb-<version>.tar.gz (default DIR: dist/).
# The tarball is self-contained apart from Node.js >= 20.19: compiled JS, production node_modules, the
# operations files and install.sh. Layout and installation: docs/operations.md. Works offline: the
# dependencies are copied from the node_modules that `npm ci` installed (scripts/stage-runtime.mjs).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out="$repo/dist"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    *) echo "usage: npm run pack [-- --out DIR]" >&2; exit 64 ;;
  esac
done
cd "$repo"
version=$(node -p 'require("./package.json").version')
name="guesthb-$version"
# Daemons shipped by this tarball: package folder and bin name.
daemons=(guest-server guest-agent)
[ -f packages/awd/src/bin.ts ] && daemons+=(awd)
# Not a daemon: the operator CLI (issue 15), installed as /usr/local/bin/guestctl like the others.
daemons+=(guestctl)

npx tsc -b "${daemons[@]/#/packages/}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
top="$tmp/$name"
mkdir -p "$top/bin" "$top/lib/guesthb" "$top/etc/mtc" "$top/systemd" "$top/init.d" "$top/pmon.d" "$top/ocf" "$top/doc"
node scripts/stage-runtime.mjs "$top/lib/guesthb" "${daemons[@]/#/packages/}"
for d in "${daemons[@]}"; do
  [ -f "packages/$d/dist/bin.js" ] || { echo "pack: packages/$d/dist/bin.js is missing" >&2; exit 1; }
  # The daemon's Node flags are those of its #! line (`#!/usr/bin/env -S node FLAGS`): one source.
  flags=$(sed -n '1s|^#!/usr/bin/env -S node *||p' "packages/$d/dist/bin.js")
  sed -e "s/@NAME@/$d/" -e "s/@PKG@/$d/" -e "s|@NODE_FLAGS@|$flags|" scripts/bin-wrapper.sh > "$top/bin/$d"
  chmod 755 "$top/bin/$d"
done
cp scripts/guest.ini "$top/etc/mtc/guest.ini"
cp systemd/*.service "$top/systemd/"
cp scripts/init.d/guestServer "$top/init.d/"
cp pmon.d/guestServer.pmon "$top/pmon.d/"
cp ocf/guestAgent "$top/ocf/"
mkdir -p "$top/logrotate" && cp scripts/logrotate/guesthb "$top/logrotate/"
cp docs/operations.md "$top/doc/"
# awd: its README is the unit's Documentation= (awd.md), with the example configurations of the seed's use cases.
if [ -f packages/awd/src/bin.ts ]; then
  cp packages/awd/README.md "$top/doc/awd.md"
  mkdir -p "$top/doc/awd-examples" && cp packages/awd/examples/*.conf packages/awd/examples/*.script "$top/doc/awd-examples/"
fi
cp scripts/install.sh "$top/install.sh"
chmod 755 "$top/install.sh" "$top/init.d/guestServer" "$top/ocf/guestAgent"
echo "$version" > "$top/VERSION"

mkdir -p "$out"
tar -C "$tmp" --owner=0 --group=0 --numeric-owner -cf - "$name" | gzip -1 > "$out/$name.tar.gz"
echo "$out/$name.tar.gz"
