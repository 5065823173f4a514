# outpost-runner: the image each run's pod starts from on a Kubernetes pool — Node 20, the SDK
# runtime and `outpost-pod-runner`, no flow code: the pod runner dials its worker, receives the run's
# verified bundle and runs it. The default base job template names it
# `ghcr.io/outpost-dev/runner:<SDK version>` (DEFAULT_RUNNER_IMAGE in @outpost/sdk/contracts); push
# it to a registry your cluster pulls from. Built by `npm run images`: see infra/README.md.
# Flows that need system libraries or native modules extend it: FROM registry.internal/outpost/outpost-runner:0.2.0
ARG BUILD_BASE=localhost/outpost/base-build:20
ARG BASE=localhost/outpost/base-node:20

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
LABEL org.opencontainers.image.title="outpost-runner" \
      org.opencontainers.image.description="Outpost runner: starts a run's bundle in a Kubernetes pod"
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY --from=deps /app/bin bin
COPY package.json ./
COPY sdk/package.json sdk/
COPY sdk/dist sdk/dist
COPY worker/package.json worker/
COPY worker/dist worker/dist
COPY worker/bin worker/bin
# The bundle is written under the temporary directory, which is writable for this user. Numeric
# (`node` is 1000:1000 in the base image): the securityContext the Kubernetes worker gives a flow
# container (`runAsNonRoot: true`) can only be checked against a numeric user; with a name the
# kubelet refuses to start the container (CreateContainerConfigError).
USER 1000:1000
ENV PATH=/app/bin:/usr/local/bin:/usr/bin:/bin
ENTRYPOINT ["outpost-pod-runner"]
