#!/usr/bin/env bash
# Builds the sandbox image (`make image`). Its tag hashes the build inputs
# (`python -m grader.sandbox.docker tag`, the one source of truth), so an
# unchanged tree builds nothing. Uses python:3.11-slim when it can be pulled,
# else a Debian base made with debootstrap (scripts/build-base-image.sh).
# SANDBOX_BASE=<image> forces a base.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
DEFAULT_BASE=python:3.11-slim
FALLBACK_BASE=grader-base:bookworm

tag=$("$PYTHON" -m grader.sandbox.docker tag)
if docker image inspect "$tag" >/dev/null 2>&1; then
    echo "sandbox image $tag is up to date"
    exit 0
fi

base="${SANDBOX_BASE:-}"
if [ -z "$base" ]; then
    if docker image inspect "$DEFAULT_BASE" >/dev/null 2>&1 || docker pull -q "$DEFAULT_BASE" >/dev/null 2>&1; then
        base=$DEFAULT_BASE
    else
        echo "cannot pull $DEFAULT_BASE; building on $FALLBACK_BASE (debootstrap) instead"
        BASE_IMAGE=$FALLBACK_BASE scripts/build-base-image.sh
        base=$FALLBACK_BASE
    fi
fi

echo "building $tag on $base"
docker build -q --build-arg BASE="$base" --label grader.sandbox.image=1 -t "$tag" . >/dev/null
echo "built $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))"
