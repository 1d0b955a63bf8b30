#!/usr/bin/env bash
# Runs the whole suite, slow and Docker tests included (CI=true turns a missing
# Docker daemon or image into a failure instead of a skip). pytest's exit code 5
# (no tests collected) means the suite itself is broken: say so and fail.
set -uo pipefail

PYTHON="${PYTHON:-python3}"
"$PYTHON" -m pytest -q -rs "$@"
status=$?
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: the test suite is broken" >&2
    exit 1
fi
exit "$status"
