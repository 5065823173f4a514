# The image every run's pod starts from on a Kubernetes pool: Node 20, the SDK runtime and
# `outpost-pod-runner` on PATH. The pod runner dials its worker, receives the run's verified bundle
# and runs it; the image holds no flow code. The default base job template names it
# `ghcr.io/outpost-dev/runner:<SDK version>` (DEFAULT_RUNNER_IMAGE in @outpost/sdk/contracts).
# Build from the repository root and push it to a registry your cluster pulls from:
#   docker build -f infra/docker/runner.Dockerfile -t registry.internal/outpost/runner:0.1.0 .
#   docker push registry.internal/outpost/runner:0.1.0
# Flows that need system libraries or native modules extend it: FROM registry.internal/outpost/runner:0.1.0
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json turbo.json tsconfig.base.json ./
COPY sdk/package.json sdk/
COPY cli/package.json cli/
COPY services/api/package.json services/api/
COPY services/dashboard/package.json services/dashboard/
COPY worker/package.json worker/
COPY test/package.json test/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx turbo run build --filter=@outpost/worker... \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
# The SDK runtime the pod runner starts the flow with (@outpost/sdk/runner).
COPY --from=build /src/sdk/package.json sdk/
COPY --from=build /src/sdk/dist sdk/dist
# The pod runner: worker/bin/outpost-pod-runner.js loads worker/dist/pod-runner/main.js.
COPY --from=build /src/worker/package.json worker/
COPY --from=build /src/worker/dist worker/dist
COPY --from=build /src/worker/bin worker/bin
RUN ln -s /app/worker/bin/outpost-pod-runner.js /usr/local/bin/outpost-pod-runner \
 && chmod 755 /app/worker/bin/outpost-pod-runner.js
# The bundle is written under the temporary directory, which must be writable for this user.
USER node
ENTRYPOINT ["outpost-pod-runner"]
