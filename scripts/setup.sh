#!/usr/bin/env bash
# Set up everything tracerd needs on a Debian 12 machine, as root; idempotent and fast
# when already done. Usage: scripts/setup.sh run|test
#   run : apt packages, kernel headers, tracefs mount, venv + locked dependencies
#   test: the same, plus what the tests build with (gcc) and the guest tier (qemu)
set -euo pipefail

MODE=${1:-run}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV="$ROOT/.venv"
SYSTEM_PYTHON=/usr/bin/python3
RUN_PACKAGES=(python3-venv python3-bpfcc bpfcc-tools bpftrace bpftool strace trace-cmd libpcap0.8)
TEST_PACKAGES=(gcc tcpdump iproute2 iputils-ping libc6-dev binutils qemu-system-x86 debootstrap e2fsprogs cpio busybox-static postgresql chromium chromium-driver)

say() { printf '[setup] %s\n' "$*"; }
shout() { printf '\n[setup] !!! %s\n\n' "$*" >&2; }

[ "$(id -u)" -eq 0 ] || { echo "setup must run as root (tracerd is a root daemon)" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive

apt_updated=0
apt_update() {
    if [ "$apt_updated" -eq 0 ]; then
        say "apt-get update"
        apt-get update -qq
        apt_updated=1
    fi
}

missing_packages() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' \
            || printf '%s\n' "$p"
    done
}

install_packages() {
    local missing
    mapfile -t missing < <(missing_packages "$@")
    [ "${#missing[@]}" -eq 0 ] && return 0
    say "installing ${missing[*]}"
    apt_update
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

headers_ok() {
    local build="/lib/modules/$(uname -r)/build"
    [ -e "$build/include" ] && [ -e "$build/Makefile" ]
}

# Kernel headers for BCC: the running kernel's, else the highest plain -amd64 ones.
setup_headers() {
    local release; release=$(uname -r)
    headers_ok && return 0
    apt_update
    if apt-cache show "linux-headers-$release" >/dev/null 2>&1; then
        install_packages "linux-headers-$release"
        headers_ok && return 0
    fi
    local pkg
    pkg=$(apt-cache search --names-only '^linux-headers-[0-9].*-amd64$' | awk '{print $1}' \
        | grep -Ev -- '-(cloud|rt)-amd64$' | sort -V | tail -n 1)
    [ -n "$pkg" ] || { shout "no kernel headers package found: BCC cannot compile"; return 0; }
    install_packages "$pkg"
    local version=${pkg#linux-headers-}
    local modules="/lib/modules/$release"
    local common
    common=$(readlink -f "/lib/modules/$version/source" 2>/dev/null || true)
    [ -n "$common" ] || common="/usr/src/linux-headers-${version%-amd64}-common"
    mkdir -p "$modules"
    ln -sfn "/usr/src/linux-headers-$version" "$modules/build"
    ln -sfn "$common" "$modules/source"
    echo "$pkg" > "$modules/tracerd-headers-fallback"
    shout "no linux-headers-$release exists for this kernel: linked $pkg as $modules/build
          and source. BCC compiles against another kernel's headers: tracerd's tools never
          read kernel structs through header layouts (recorded in $modules/tracerd-headers-fallback)"
}

mount_tracefs() {
    if ! mountpoint -q /sys/kernel/tracing; then
        say "mounting tracefs at /sys/kernel/tracing"
        mount -t tracefs nodev /sys/kernel/tracing
    fi
}

venv_ok() {
    [ -x "$VENV/bin/python" ] && grep -q '^home = /usr/bin$' "$VENV/pyvenv.cfg" 2>/dev/null \
        && grep -q '^include-system-site-packages = true$' "$VENV/pyvenv.cfg"
}

setup_venv() {
    if ! venv_ok; then
        say "creating $VENV from $SYSTEM_PYTHON with --system-site-packages (for BCC)"
        rm -rf "$VENV"
        "$SYSTEM_PYTHON" -m venv --system-site-packages "$VENV"
    fi
    local stamp; stamp=$(cat "$ROOT/requirements.lock" "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)
    if [ "$(cat "$VENV/.tracerd-deps" 2>/dev/null)" != "$stamp" ]; then
        say "installing locked dependencies"
        "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps -r "$ROOT/requirements.lock"
        "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps --no-build-isolation -e "$ROOT"
        echo "$stamp" > "$VENV/.tracerd-deps"
    fi
}

install_packages "${RUN_PACKAGES[@]}"
[ "$MODE" = test ] && install_packages "${TEST_PACKAGES[@]}"
setup_headers
mount_tracefs
setup_venv
say "ready ($MODE)"
