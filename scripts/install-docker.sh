#!/usr/bin/env bash
# Makes sure a Docker daemon answers: installs docker.io when dockerd is missing,
# starts dockerd in the background (log: $DOCKERD_LOG) when nothing answers, and
# waits for it. Idempotent; needs root.
set -euo pipefail

LOG="${DOCKERD_LOG:-/var/log/dockerd.log}"
WAIT_SECONDS="${DOCKERD_WAIT_SECONDS:-60}"

_answers() { docker version >/dev/null 2>&1; }

# Reads /proc directly: minimal machines may lack procps (pgrep).
_dockerd_running() {
    local comm
    for comm in /proc/[0-9]*/comm; do
        [ "$(cat "$comm" 2>/dev/null)" = dockerd ] && return 0
    done
    return 1
}

if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
    echo "installing docker.io"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

if _answers; then
    echo "Docker daemon is up"
    exit 0
fi

if _dockerd_running; then
    echo "dockerd is running but not answering yet; waiting"
else
    echo "starting dockerd (log: $LOG)"
    # setsid: the daemon outlives this script and its terminal.
    setsid dockerd >>"$LOG" 2>&1 </dev/null &
fi

for _ in $(seq "$WAIT_SECONDS"); do
    if _answers; then
        echo "Docker daemon is up"
        exit 0
    fi
    sleep 1
done
echo "the Docker daemon did not answer within ${WAIT_SECONDS}s; see $LOG" >&2
tail -n 20 "$LOG" >&2 || true
exit 1
