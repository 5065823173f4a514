# outpost-worker: the worker agent customers run inside their own network, with git, ssh and CA
# certificates for code sources, and `outpost-pod-runner` (so it can also serve as a Kubernetes
# pool's runner image). Built by `npm run images`: see infra/README.md.
ARG BUILD_BASE=localhost/outpost/base-build:20
ARG BASE=localhost/outpost/base-worker:20

FROM ${BUILD_BASE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY sdk/package.json sdk/
COPY cli/package.json cli/
COPY services/api/package.json services/api/
COPY services/dashboard/package.json services/dashboard/
COPY worker/package.json worker/
COPY test/package.json test/
RUN ["npm", "ci", "--omit=dev", "--workspace", "@outpost/worker", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline", "--cache", "/npm-cache"]
# `outpost-pod-runner` on PATH, the command the Kubernetes executor gives each run's pod.
RUN ["node", "-e", "require('node:fs').mkdirSync('/app/bin'); require('node:fs').symlinkSync('../worker/bin/outpost-pod-runner.js', '/app/bin/outpost-pod-runner')"]

FROM ${BASE}
# Version and revision labels are set by npm run images at commit (--label): build caches keep no stale ones.
LABEL org.opencontainers.image.title="outpost-worker" \
      org.opencontainers.image.description="Outpost worker agent"
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY --from=deps /app/bin bin
COPY package.json ./
COPY sdk/package.json sdk/
COPY sdk/dist sdk/dist
COPY worker/package.json worker/
COPY worker/dist worker/dist
COPY worker/bin worker/bin
# Numeric (`node` is 1000:1000 in the base image), so a pod with `runAsNonRoot: true` can check it.
USER 1000:1000
ENV PATH=/app/bin:/usr/local/bin:/usr/bin:/bin \
    OUTPOST_WORKER_CACHE_DIR=/home/node/.cache/outpost/bundles \
    OUTPOST_WORKER_SPOOL_DIR=/home/node/.cache/outpost/spool
# OUTPOST_API_URL and OUTPOST_API_KEY (a worker key) come from the environment; registry
# credentials from OUTPOST_REGISTRY_USERNAME/PASSWORD or a mounted Docker config (DOCKER_CONFIG).
ENTRYPOINT ["node", "worker/dist/main.js", "start"]
CMD ["--pool", "default"]
