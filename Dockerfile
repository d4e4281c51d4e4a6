# No `# syntax=` line: the builder's own Dockerfile frontend, never a floating
# tag fetched at build time (this file needs no newer syntax).
# The runtime base, pinned by digest. Override it where Docker Hub is not
# reachable: --build-arg BASE_IMAGE=local/debian-python:bookworm
ARG BASE_IMAGE=python:3.12-slim@sha256:78387bc3881b8273120a12ebe6c1ab22b018ccc2c9adf565ae1ac9b536e184ea

FROM ${BASE_IMAGE} AS build
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
# The build backend in its own layer (a change to src/ does not reinstall it),
# from its hashed lock: every package pinned, every file checked.
COPY .github/build-requirements.txt /tmp/build-requirements.txt
RUN python3 -m venv /opt/build \
 && /opt/build/bin/pip install --quiet --require-hashes --no-deps -r /tmp/build-requirements.txt
COPY pyproject.toml README.md LICENSE ./
COPY src/sample_app ./src/sample_app
# The app's venv has no pip, no setuptools: the wheel goes in with the build
# venv's pip, the app has no dependencies, and bytecode is compiled now
# because the runtime filesystem is read-only.
RUN /opt/build/bin/pip wheel --quiet --no-deps --no-build-isolation --wheel-dir /wheels . \
 && python3 -m venv --without-pip /opt/app \
 && /opt/build/bin/pip --python /opt/app/bin/python install --quiet --no-deps --no-index /wheels/*.whl \
 && /opt/app/bin/python -m compileall -q /opt/app

FROM ${BASE_IMAGE}
ARG VERSION=0.1.0
ARG VCS_REF=unknown
ARG CREATED=unknown
ARG SOURCE=https://github.com/OWNER/REPO
LABEL org.opencontainers.image.title="sample-app" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${VCS_REF}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="MIT"
COPY --from=build /opt/app /opt/app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 65532:65532
ENTRYPOINT ["/opt/app/bin/python", "-m", "sample_app"]
