# syntax=docker/dockerfile:1
# One image for all of Ducha; each service is a different command of it:
#   python -m ducha.kernel.serve <intake|rectification|verification|notify> --host 0.0.0.0 --port 8080
# See deploy/README.md.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: install the project and its pinned dependencies into a virtualenv ------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/ducha
COPY pyproject.toml ./
COPY contracts ./contracts
COPY shared ./shared
COPY services ./services
COPY web ./web
# A regular (not editable) install from pyproject.toml: the runtime image needs no sources.
RUN /opt/ducha/bin/pip install --upgrade pip \
 && /opt/ducha/bin/pip install ./contracts . \
 && /opt/ducha/bin/python -m compileall -q /opt/ducha/lib

# ---- runtime: the virtualenv only, as an unprivileged user -------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/ducha/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DUCHA_HOST=0.0.0.0 \
    DUCHA_PORT=8080 \
    DUCHA_DATA_DIR=/var/lib/ducha \
    DUCHA_LOG_FORMAT=json
RUN groupadd --system --gid 10001 ducha \
 && useradd --system --uid 10001 --gid ducha --home-dir /var/lib/ducha --shell /usr/sbin/nologin ducha \
 && mkdir -p /var/lib/ducha \
 && chown ducha:ducha /var/lib/ducha
COPY --from=build /opt/ducha /opt/ducha
USER 10001:10001
WORKDIR /var/lib/ducha
EXPOSE 8080
# Liveness of the process (readiness, i.e. connected and caught up, is /ready: used by k8s probes
# and the web entry, not by Docker's restart logic).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('DUCHA_PORT', '8080'), timeout=2)"]
# Stop gracefully: uvicorn finishes in-flight requests on SIGTERM.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "ducha.kernel.serve", "intake", "--host", "0.0.0.0", "--port", "8080"]
