#!/usr/bin/env bash
# Fetches the guest kernel for the real-VM end-to-end test (test/e2e) into .cache/e2e/kernel (git-ignored).
# The kernel is Debian's cloud kernel, downloaded and unpacked, never installed: installing it would pull in
# initramfs-tools, udev and kmod and run update-initramfs for nothing (shared/spec/qemu-e2e.md §1).
# The test builds its own initramfs from busybox-static and this kernel's virtio modules.
# Idempotent: a second run with the same kernel package does nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi

DEST=.cache/e2e
META=linux-image-cloud-amd64

# The ABI name (linux-image-6.1.0-NN-cloud-amd64) changes with point releases: resolve it from the metapackage.
resolve() { apt-cache depends "$META" 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}'; }
KPKG=$(resolve || true)
if [ -z "$KPKG" ]; then
  $SUDO apt-get update -qq
  KPKG=$(resolve || true)
fi
[ -n "$KPKG" ] || { echo "cannot resolve the kernel package behind $META"; exit 1; }

if [ -f "$DEST/kernel/.package" ] && [ "$(cat "$DEST/kernel/.package")" = "$KPKG" ] && [ -e "$DEST/kernel/vmlinuz" ]; then
  echo "guest kernel $KPKG already in $DEST/kernel"
  exit 0
fi

mkdir -p "$DEST"
work=$(mktemp -d "$DEST/dl.XXXXXX")
trap 'rm -rf "$work"' EXIT
# apt-get download writes into the current directory; as root it warns that it runs unsandboxed (harmless).
download() { (cd "$work" && apt-get download -qq "$KPKG" 2>&1 | grep -v 'unsandboxed' >&2 || true); ls "$work"/"$KPKG"_*.deb 2>/dev/null | head -1 || true; }
deb=$(download)
if [ -z "$deb" ]; then
  # Stale package lists (the mirror moved on to a new point release): refresh and resolve again.
  $SUDO apt-get update -qq
  KPKG=$(resolve || true)
  deb=$(download)
fi
[ -n "$deb" ] || { echo "apt-get download $KPKG produced no .deb"; exit 1; }

rm -rf "$DEST/kernel"
mkdir -p "$work/x"
dpkg-deb -x "$deb" "$work/x"
mv "$work/x" "$DEST/kernel"
kv=$(ls "$DEST/kernel/lib/modules" | head -1)
ln -sf "boot/vmlinuz-$kv" "$DEST/kernel/vmlinuz"
echo "$kv" > "$DEST/kernel/.version"
echo "$KPKG" > "$DEST/kernel/.package"
echo "guest kernel $KPKG ($kv) unpacked into $DEST/kernel"
