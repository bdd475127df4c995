#!/bin/sh
# @NAME@: installed by guesthb's install.sh (docs/operations.md). Runs the daemon's compiled JavaScript
# from ../lib/guesthb next to this file, with the Node.js chosen at install time (GUESTHB_NODE overrides).
here=$(dirname "$(readlink -f "$0")")
lib="$here/../lib/guesthb"
node=${GUESTHB_NODE:-}
[ -n "$node" ] || { [ -r "$lib/NODE" ] && node=$(cat "$lib/NODE"); }
[ -n "$node" ] || node=node
# @NODE_FLAGS@: the V8 flags of the daemon's own #! line (scripts/pack.sh copies them), e.g. guest-server's
# --max-semi-space-size=16 --no-allocation-site-pretenuring.
# Node cannot raise its own descriptor limit (no setrlimit): raise the soft limit to the hard one here, so
# the connection caps (a quarter of the soft limit for HTTP) leave room for every channel (issue 11 item 3).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec "$node" @NODE_FLAGS@ "$lib/node_modules/@guesthb/@PKG@/dist/bin.js" "$@"
