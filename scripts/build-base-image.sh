#!/usr/bin/env bash
# Builds the local base image grader-base:bookworm (Debian's python3 + numpy)
# with debootstrap, for machines that cannot pull python:3.11-slim from Docker Hub.
# Idempotent: does nothing when the image already exists. Needs root.
set -euo pipefail

BASE_IMAGE="${BASE_IMAGE:-grader-base:bookworm}"
SUITE=bookworm

# The first Debian (non-security) mirror apt is configured with, so the build
# uses the same archive as the rest of the machine.
_mirror() {
    local uri
    uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)
    if [ -z "$uri" ]; then
        uri=$(grep -hsE '^deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
            | awk '{print $2}' | grep -v security | head -n1 || true)
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    echo "base image $BASE_IMAGE exists"
    exit 0
fi

if ! command -v debootstrap >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

workdir=$(mktemp -d /var/tmp/grader-base.XXXXXX)
root="$workdir/rootfs"
_cleanup() {
    # debootstrap mounts /proc and /sys inside the target; a failed run can leave
    # them mounted, and rm must never descend into them.
    findmnt -rn -o TARGET | grep -F "$root/" | sort -r | xargs -r -n1 umount -l || true
    rm -rf --one-file-system "$workdir"
}
trap _cleanup EXIT

mirror=$(_mirror)
echo "debootstrap $SUITE from $mirror (about a minute)"
debootstrap --variant=minbase --include=python3,python3-numpy "$SUITE" "$root" "$mirror" \
    >"$workdir/debootstrap.log" 2>&1 || { tail -n 30 "$workdir/debootstrap.log" >&2; exit 1; }

# Nothing in the sandbox needs package caches, documentation or translations.
rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/var/log/* \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
    "$root"/usr/share/locale/*

tar --numeric-owner -C "$root" -c . | docker import - "$BASE_IMAGE" >/dev/null
echo "built base image $BASE_IMAGE"
