# The job image for running .github/workflows under act on this machine: what
# the workflows' steps use of GitHub's ubuntu-24.04 runner, and nothing more.
# Built by `scripts/local-platform.sh up` on the local Debian base (no Docker
# Hub here). Differences from GitHub's image are listed in the README
# ("Running the workflows locally").
ARG BASE_IMAGE=local/debian-python:bookworm
FROM ${BASE_IMAGE}
# git for checkout and the gate's changed-lines, the shared libraries that the
# machine's own interpreters (mounted read-only by setup-python's stand-in)
# link against, zstd/xz for tarballs, and Node (act evaluates hashFiles() with
# it, as GitHub's runner image has it; every action itself is a stand-in).
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      git curl xz-utils zstd libssl3 libffi8 libsqlite3-0 libbz2-1.0 liblzma5 \
      libreadline8 libncursesw6 libgdbm6 zlib1g libuuid1 libexpat1 tzdata nodejs \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
# The Docker client of this machine (static); the engine is the host's, reached
# through the socket act mounts into each job.
COPY docker /usr/local/bin/docker
# hatch, installed by the very command the workflows run, from the same hashed
# lock: their "Install hatch" step then finds it satisfied instead of spending
# ~11 s in each of ~60 jobs (GitHub's image has no hatch; the step installs it
# there). The image is rebuilt whenever the lock changes.
COPY hatch-requirements.txt /tmp/hatch-requirements.txt
RUN python3 -m pip install --quiet --user --break-system-packages --require-hashes \
      -r /tmp/hatch-requirements.txt \
 && rm -rf /tmp/hatch-requirements.txt /root/.cache/pip
# As on GitHub's runner: user installs land on PATH; Python is externally managed
# (Debian's marker is kept, so `pip install --user` needs --break-system-packages).
ENV PATH=/root/.local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    ImageOS=ubuntu24 \
    RUNNER_TOOL_CACHE=/opt/hostedtoolcache \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt
