#!/bin/sh
# install.sh: installs an unpacked guesthb tarball (docs/operations.md §1, "Tarball and installed layout").
#
#   ./install.sh [--root DIR] [--node PATH] [--enable compute|controller|none] [--token FILE]
#
#   --root DIR   install under DIR instead of / (images, chroots, tests); never touches systemd then
#   --node PATH  Node.js >= 20.19 that the wrappers run (default: `command -v node`)
#   --enable     compute: enable guestServer.service; controller: leave guestAgent.service to SM or
#                Pacemaker (nothing enabled); none (default): enable nothing
#   --token FILE the peer API token to install as /etc/mtc/guest.token (the same file on every controller
#                and compute host: copy it from the first host or from configuration management); without
#                it an existing guest.token is kept, and a missing one is created at random (0600)
#
# Layout (every path under --root):
#   /usr/local/bin/guest-server, guest-agent[, awd], guestctl   wrappers (sh) that exec Node on the JS below
#   /usr/local/lib/guesthb/                                 compiled JS + production node_modules, NODE
#   /etc/mtc/guest.ini                                      only when absent; else guest.ini.dist beside it
#   /etc/mtc/guest.token                                    the shared bearer token, 0600 (see --token)
#   /usr/local/lib/systemd/system/*.service                 guestServer, guestAgent[, awd@]
#   /etc/init.d/guestServer                                 LSB script that pmond calls
#   /etc/pmon.d/guestServer.conf                            pmond config (worker hosts)
#   /usr/lib/ocf/resource.d/platform/guestAgent            OCF agent (SM: platform; Pacemaker: ocf:platform:guestAgent)
#   /etc/logrotate.d/guesthb                                rotation of the OCF/LSB log files
#   /usr/local/share/doc/guesthb/operations.md[, awd.md, awd-examples/]   awd's README and example configs
set -eu

src=$(cd "$(dirname "$0")" && pwd)
root=/
node=
enable=none
token=
while [ $# -gt 0 ]; do
    case "$1" in
        --root) root=$2; shift 2 ;;
        --node) node=$2; shift 2 ;;
        --enable) enable=$2; shift 2 ;;
        --token) token=$2; shift 2 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 64 ;;
    esac
done
case "$enable" in compute|controller|none) ;; *) echo "install.sh: --enable takes compute, controller or none" >&2; exit 64 ;; esac

[ -n "$node" ] || node=$(command -v node || true)
if [ -z "$node" ] || [ ! -x "$node" ]; then
    echo "install.sh: Node.js not found; pass --node PATH" >&2
    exit 1
fi
if ! "$node" -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
    echo "install.sh: $node is $("$node" --version); guesthb needs Node.js >= 20.19" >&2
    exit 1
fi

r=${root%/}
umask 022

# The runtime is replaced as a whole: copy beside it, then swap, so a running daemon's next start sees
# either the old or the new tree, never a mix.
lib="$r/usr/local/lib/guesthb"
mkdir -p "$r/usr/local/lib"
rm -rf "$lib.new"
cp -R "$src/lib/guesthb" "$lib.new"
echo "$node" > "$lib.new/NODE"
rm -rf "$lib.old"
[ -e "$lib" ] && mv "$lib" "$lib.old"
mv "$lib.new" "$lib"
rm -rf "$lib.old"

mkdir -p "$r/usr/local/bin"
for f in "$src"/bin/*; do
    install -m 0755 "$f" "$r/usr/local/bin/$(basename "$f")"
done

mkdir -p "$r/etc/mtc"
if [ -e "$r/etc/mtc/guest.ini" ]; then
    install -m 0644 "$src/etc/mtc/guest.ini" "$r/etc/mtc/guest.ini.dist"
    echo "install.sh: kept the existing /etc/mtc/guest.ini; the shipped one is guest.ini.dist"
else
    install -m 0644 "$src/etc/mtc/guest.ini" "$r/etc/mtc/guest.ini"
fi

# The peer API token (secure by default: both daemons' shipped config names it). Never replaced unless
# --token says so; created at random when absent, readable by root only.
if [ -n "$token" ]; then
    [ -s "$token" ] || { echo "install.sh: --token $token is missing or empty" >&2; exit 1; }
    install -m 0600 "$token" "$r/etc/mtc/guest.token"
    echo "install.sh: installed the token from $token as /etc/mtc/guest.token"
elif [ ! -e "$r/etc/mtc/guest.token" ]; then
    (umask 077 && "$node" -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("hex") + "\n")' > "$r/etc/mtc/guest.token")
    chmod 0600 "$r/etc/mtc/guest.token"
    echo "install.sh: created a random token in /etc/mtc/guest.token: copy it to every controller and compute host (docs/operations.md \"Token\")"
fi

mkdir -p "$r/usr/local/lib/systemd/system" "$r/etc/init.d" "$r/etc/pmon.d" "$r/etc/logrotate.d" \
    "$r/usr/lib/ocf/resource.d/platform" "$r/usr/local/share/doc/guesthb"
for f in "$src"/systemd/*.service; do
    install -m 0644 "$f" "$r/usr/local/lib/systemd/system/$(basename "$f")"
done
install -m 0755 "$src/init.d/guestServer" "$r/etc/init.d/guestServer"
install -m 0644 "$src/pmon.d/guestServer.pmon" "$r/etc/pmon.d/guestServer.conf"
install -m 0755 "$src/ocf/guestAgent" "$r/usr/lib/ocf/resource.d/platform/guestAgent"
install -m 0644 "$src/logrotate/guesthb" "$r/etc/logrotate.d/guesthb"
install -m 0644 "$src/doc/operations.md" "$r/usr/local/share/doc/guesthb/operations.md"
if [ -f "$src/doc/awd.md" ]; then
    install -m 0644 "$src/doc/awd.md" "$r/usr/local/share/doc/guesthb/awd.md"
    mkdir -p "$r/usr/local/share/doc/guesthb/awd-examples"
    for f in "$src"/doc/awd-examples/*; do
        install -m 0644 "$f" "$r/usr/local/share/doc/guesthb/awd-examples/$(basename "$f")"
    done
fi

echo "install.sh: installed guesthb $(cat "$src/VERSION") under ${root}"

if [ "$root" != / ]; then exit 0; fi
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    systemctl daemon-reload
    if [ "$enable" = compute ]; then
        systemctl enable guestServer.service
        echo "install.sh: enabled guestServer.service (start it with: systemctl start guestServer)"
    fi
fi
