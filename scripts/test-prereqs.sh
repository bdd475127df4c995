#!/usr/bin/env bash
# `npm test` runs this first (root package.json "pretest"): it provisions what the test suite needs, exactly
# as CI does (.ci/run steps 1-2), or stops at once with the reason and the remedy.
#   1. the Debian packages listed in .ci/apt-packages.txt (QEMU, busybox-static, chromium, prometheus for
#      promtool, …): installed with apt-get when missing (root or password-less sudo);
#   2. .ci/setup.d/*.sh in name order (the guest kernel of the real-VM test, into .cache/e2e).
# Set GUESTHB_SKIP_PREREQS=1 to skip this step (the tests that need what is missing then fail, with the reason).
# GUESTHB_APT_PACKAGES and GUESTHB_SETUP_DIR replace the package list and the set-up directory (tests).
set -uo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
[ "${GUESTHB_SKIP_PREREQS:-}" = 1 ] && exit 0

fail() {
  printf '\nnpm test: cannot provision the test prerequisites.\n  reason: %s\n  remedy: %s\n\n' "$1" "$2" >&2
  exit 1
}

if ! command -v dpkg >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  fail "this is not a Debian/Ubuntu system (no dpkg/apt-get); the tests need QEMU, busybox-static, chromium and promtool from Debian packages" \
       "run the tests on Debian 12 (as CI does), or install the equivalents of the packages in .ci/apt-packages.txt and run with GUESTHB_SKIP_PREREQS=1"
fi

list=${GUESTHB_APT_PACKAGES:-.ci/apt-packages.txt}
setup_dir=${GUESTHB_SETUP_DIR:-.ci/setup.d}
mapfile -t pkgs < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$list")
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"
  else
    fail "missing Debian packages: ${missing[*]}, and this user is not root and has no password-less sudo" \
         "sudo apt-get install -y --no-install-recommends ${missing[*]}   (then run npm test again)"
  fi
  echo "npm test: installing ${missing[*]} (apt-get)"
  $SUDO apt-get update -qq || true
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || fail "apt-get install ${missing[*]} failed" "run it by hand to see why: sudo apt-get install -y ${missing[*]}"
fi

for s in "$setup_dir"/*.sh; do
  [ -e "$s" ] || continue
  out=$(bash "$s" 2>&1) || fail "set-up script $s failed: $(printf '%s' "$out" | tail -3 | tr '\n' ' ')" \
                               "run bash $s to see the whole output (it needs network access to a Debian mirror)"
  printf '%s\n' "$out" | tail -1
done
