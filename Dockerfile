# The sandbox image: Python 3 + numpy + the in-sandbox runner, nothing else.
# BASE is python:3.11-slim where Docker Hub is reachable; scripts/build-image.sh
# passes grader-base:bookworm (Debian's python3 + python3-numpy) where it is not.
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
# The same numpy as Debian bookworm's python3-numpy, so both bases grade alike.
ARG NUMPY_VERSION=1.24.2
RUN set -eu; \
    python3 -c "import numpy" 2>/dev/null \
        || python3 -m pip install --no-cache-dir --disable-pip-version-check "numpy==${NUMPY_VERSION}"; \
    python3 -m pip uninstall -y -q pip setuptools wheel 2>/dev/null || true; \
    rm -rf /usr/local/bin/pip* /usr/bin/pip* /usr/local/lib/python3*/ensurepip \
        /usr/lib/python3*/ensurepip /root/.cache; \
    for tool in pip pip3 cc gcc g++ clang; do \
        if command -v "$tool" >/dev/null; then echo "$tool must not be in the sandbox image" >&2; exit 1; fi; \
    done; \
    # The rootfs is read-only at run time, so byte-compile now or every run recompiles numpy.
    python3 -m compileall -q -j 0 /usr/lib/python3* /usr/local/lib/python3* >/dev/null 2>&1 || true; \
    find / -xdev -type f -perm /6000 -exec chmod ug-s {} +; \
    groupadd -g 10001 sandbox; \
    useradd -u 10001 -g 10001 -M -d /tmp -s /usr/sbin/nologin sandbox

# One flat layer: drops the base image's environment and the files removed above.
FROM scratch
COPY --from=build / /
# Last, so a runner change rebuilds only this small layer.
COPY grader/runner.py /opt/grader/runner.py
ENV PATH=/usr/local/bin:/usr/bin:/bin \
    LANG=C.UTF-8 \
    HOME=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    OPENBLAS_NUM_THREADS=1 \
    OMP_NUM_THREADS=1 \
    MKL_NUM_THREADS=1
USER 10001:10001
WORKDIR /tmp
CMD ["python3", "-I", "/opt/grader/runner.py"]
