#!/usr/bin/env bash
# Installs what the grader and its tests need on a fresh Debian/Ubuntu machine:
# system packages (Docker, debootstrap for the offline image base, bubblewrap and
# Debian's python3-numpy for the light bwrap sandbox, Chromium for
# the batch summary screenshot test, Redis for the scale-out tests) and the Python
# package with every extra (service, queue) and the dev tools. Idempotent and quick when everything is there.
set -euo pipefail

PYTHON="${PYTHON:-python3}"
APT_PACKAGES=(docker.io debootstrap bubblewrap python3-numpy chromium redis-server)

missing=()
for package in "${APT_PACKAGES[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]})); then
    if [ "$(id -u)" -ne 0 ]; then
        echo "please install: ${missing[*]} (needs root)" >&2
        exit 1
    fi
    echo "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# pip's own notices (root user, this machine's absent local mirrors) are noise here.
"$PYTHON" -m pip install -q --disable-pip-version-check -e '.[dev,service,queue]' 2>&1 \
    | grep -v -e "as the 'root' user" -e "^WARNING: Location 'file://" || true
"$PYTHON" -c "import grader, pytest_jsonreport, docker, fastapi, celery, jsonschema" || { echo "the Python package did not install" >&2; exit 1; }
