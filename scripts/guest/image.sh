#!/usr/bin/env bash
# Build (once) and cache the guest tier's image: Debian bookworm's stock kernel
# (linux-image-amd64, 6.1: function_graph, kprobes, BPF fentry) and a minimal root
# filesystem with python3, BCC, bpftrace, strace, trace-cmd and the kernel's headers.
#
#   scripts/guest/image.sh [--rebuild]     prints the image directory on its last line
#
# Cache: $TRACERD_GUEST_CACHE (default /var/cache/tracerd-guest)/<kver>-<hash>/ where
# <hash> covers this script, the guest's init scripts and the package list, so changing
# any of them builds a new image; older images are deleted after a successful build.
# Layout of an image directory:
#   vmlinuz            the kernel (from linux-image-<kver>, unpacked with dpkg-deb, never
#                      installed on the host)
#   kallsyms           its text symbols, written by run.sh after the first boot (for the
#                      watchdog, which names where the vCPUs are)
#   initrd.cpio        busybox + the modules for virtio, ext4 and 9p + /init + /stage2
#   rootfs.ext4        debootstrap --variant=minbase tree with the packages and headers,
#                      attached read-only (snapshot=on): nothing a run writes persists
#   ready              written last: an image without it is incomplete
# Needs root, network (deb.debian.org, or $TRACERD_GUEST_MIRROR), and qemu-system-x86,
# debootstrap, e2fsprogs, kmod on the host. Any failure exits non-zero, loudly.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${TRACERD_GUEST_CACHE:-/var/cache/tracerd-guest}
MIRROR=${TRACERD_GUEST_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
PACKAGES=python3,python3-venv,python3-bpfcc,bpfcc-tools,bpftrace,bpftool,strace,trace-cmd,busybox-static,procps,kmod
# what the initramfs loads to reach the root image (virtio-blk, ext4) and the shares (9p)
INITRD_MODULES="virtio_pci virtio_blk ext4 9pnet_virtio 9p"

say() { printf '[guest-image] %s\n' "$*" >&2; }
die() { printf '\n[guest-image] !!! %s\n\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, loop-free mkfs, qemu)"
REBUILD=0
[ "${1:-}" = --rebuild ] && REBUILD=1

need_tools() {
    local missing=() tool pkg
    for pair in qemu-system-x86_64:qemu-system-x86 debootstrap:debootstrap \
                mkfs.ext4:e2fsprogs modprobe:kmod cpio:cpio; do
        tool=${pair%%:*} pkg=${pair#*:}
        command -v "$tool" >/dev/null || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >/dev/null || die "cannot install ${missing[*]}"
}

# The guest kernel is pinned: the ABI the tier was last proven on (TRACERD_GUEST_KVER
# overrides). Debian's security archive drops an ABI some time after the next one comes
# out: then linux-image-amd64's current one is used, and said loudly.
PINNED_KVER=6.1.0-57-amd64
current_kver() {  # what linux-image-amd64 depends on now
    apt-cache depends linux-image-amd64 2>/dev/null \
        | awk '/Depends: linux-image-[0-9]/ {sub("linux-image-", "", $2); print $2; exit}'
}
kernel_version() {
    if [ -n "${TRACERD_GUEST_KVER:-}" ]; then echo "$TRACERD_GUEST_KVER"; return; fi
    local kver
    kver=$(current_kver)
    if [ -z "$kver" ]; then
        apt-get update -qq >/dev/null 2>&1 || true
        kver=$(current_kver)
    fi
    if apt-cache show "linux-image-$PINNED_KVER" >/dev/null 2>&1; then
        echo "$PINNED_KVER"
        return
    fi
    if [ -n "$kver" ]; then
        say "!!! the pinned guest kernel $PINNED_KVER is no longer in Debian's archive:" \
            "using $kver, which this tier has not been proven on (update PINNED_KVER)"
    else  # no package lists: the newest image already built will do
        kver=$(find "$CACHE" -maxdepth 2 -name ready 2>/dev/null | sort | tail -n1 \
            | xargs -r dirname | xargs -r basename | sed 's/-[0-9a-f]*$//')
    fi
    [ -n "$kver" ] || die "cannot resolve linux-image-amd64's kernel version (apt-get update?)"
    echo "$kver"
}

download() {  # the kernel image and headers packages of $KVER into $1
    local dir=$1 deps
    deps=$(apt-cache depends "linux-headers-$KVER" 2>/dev/null \
        | awk '/Depends: linux-(headers|kbuild)-/ {print $2}')
    (cd "$dir" && apt-get download -qq "linux-image-$KVER" "linux-headers-$KVER" $deps) \
        >"$dir/download.log" 2>&1 || { cat "$dir/download.log" >&2; die "apt-get download failed"; }
    ls "$dir"/linux-image-"$KVER"_*.deb >/dev/null 2>&1 || die "no linux-image-$KVER package"
}

build_rootfs() {  # $1 work dir
    local work=$1 deb
    say "debootstrap $SUITE ($PACKAGES): about a minute"
    debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$work/rootfs" "$MIRROR" \
        >"$work/debootstrap.log" 2>&1 \
        || { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap failed ($work/debootstrap.log)"; }
    for deb in "$work"/debs/linux-headers-*.deb "$work"/debs/linux-kbuild-*.deb; do
        [ -e "$deb" ] || continue
        # not dpkg-deb -x: its tar would replace the merged-/usr symlink /lib with a directory
        dpkg-deb --fsys-tarfile "$deb" | tar -x --keep-directory-symlink -C "$work/rootfs"
    done
    # (build is an absolute symlink: it resolves inside the guest, not here)
    [ -L "$work/rootfs/lib" ] && [ -L "$work/rootfs/usr/lib/modules/$KVER/build" ] \
        && [ -e "$work/rootfs/usr/src/linux-headers-$KVER/Makefile" ] \
        || die "the headers of $KVER are not where BCC looks (/lib/modules/$KVER/build)"
    mkdir -p "$work/rootfs/boot"
    cp "$work/kernel/boot/config-$KVER" "$work/kernel/boot/System.map-$KVER" "$work/rootfs/boot/"
    echo tracerd-guest >"$work/rootfs/etc/hostname"
    rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/*_Packages
}

build_initrd() {  # $1 work dir
    local work=$1 tree=$1/initrd mdir m
    mkdir -p "$tree"/{bin,dev,proc,sys,newroot,modules}
    cp "$work/rootfs/bin/busybox" "$tree/bin/busybox"
    mdir=$work/kernel/lib/modules/$KVER
    depmod -b "$work/kernel" "$KVER" || die "depmod failed"
    : >"$tree/modules/order"
    for m in $INITRD_MODULES; do
        # dependencies first, each module once
        modprobe -d "$work/kernel" -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
    done | awk '!seen[$0]++' | while read -r path; do
        cp "$path" "$tree/modules/"
        basename "$path" >>"$tree/modules/order"
    done
    [ -s "$tree/modules/order" ] || die "no initramfs modules resolved"
    install -m 0755 "$HERE/init" "$tree/init"
    install -m 0755 "$HERE/stage2" "$tree/stage2"
    (cd "$tree" && find . -mindepth 1 | sed 's|^\./||' | cpio -o -H newc --quiet) >"$work/initrd.cpio"
}

build() {  # $1 final image dir
    local dest=$1 work started mb
    started=$(date +%s)
    work=$(mktemp -d "$CACHE/build.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    mkdir -p "$work/debs" "$work/kernel"
    download "$work/debs"
    dpkg-deb -x "$work"/debs/linux-image-"$KVER"_*.deb "$work/kernel"
    build_rootfs "$work"
    build_initrd "$work"
    mb=$(du -sm "$work/rootfs" | awk '{print int($1 * 1.2) + 512}')
    # no journal, no metadata_csum: nothing to replay, no crc32c module needed
    mkfs.ext4 -q -F -L tracerd-guest -O ^has_journal,^metadata_csum -i 8192 \
        -d "$work/rootfs" "$work/rootfs.ext4" "${mb}M" >&2 || die "mkfs.ext4 -d failed"
    mkdir -p "$dest.tmp"
    mv "$work/rootfs.ext4" "$work/initrd.cpio" "$dest.tmp/"
    cp "$work/kernel/boot/vmlinuz-$KVER" "$dest.tmp/vmlinuz"
    echo "$KVER built in $(($(date +%s) - started)) s" >"$dest.tmp/ready"
    rm -rf "$dest" && mv "$dest.tmp" "$dest"
    rm -rf "$work"
    trap - EXIT
    say "image ready in $(($(date +%s) - started)) s: $dest"
}

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9  # one build at a time; runs share the finished image (read-only)
need_tools
KVER=$(kernel_version)
KEY=$(cat "$0" "$HERE/init" "$HERE/stage2" <(echo "$PACKAGES $INITRD_MODULES $SUITE") \
    | sha256sum | cut -c1-12)
IMAGE=$CACHE/$KVER-$KEY
if [ "$REBUILD" = 1 ] || [ ! -f "$IMAGE/ready" ]; then
    say "building the guest image for $KVER (cached in $IMAGE)"
    build "$IMAGE"
    find "$CACHE" -mindepth 1 -maxdepth 1 -type d ! -path "$IMAGE" ! -name runs ! -name last-run \
        -exec rm -rf {} +  # older images
fi
echo "$IMAGE"
