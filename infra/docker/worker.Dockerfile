# The worker agent customers run inside their own network.
# Build from the repository root:  docker build -f infra/docker/worker.Dockerfile -t outpost/worker .
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
# git for git+https / git+ssh sources; ca-certificates for HTTPS registries.
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates openssh-client \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/sdk/package.json sdk/
COPY --from=build /src/sdk/dist sdk/dist
COPY --from=build /src/worker/package.json worker/
COPY --from=build /src/worker/dist worker/dist
# The pod runner too (`outpost-pod-runner`), so this image can also serve as the runner image of a
# Kubernetes pool; infra/docker/runner.Dockerfile builds a smaller one without git and ssh.
COPY --from=build /src/worker/bin worker/bin
RUN ln -s /app/worker/bin/outpost-pod-runner.js /usr/local/bin/outpost-pod-runner \
 && chmod 755 /app/worker/bin/outpost-pod-runner.js
USER node
ENV OUTPOST_WORKER_CACHE_DIR=/home/node/.cache/outpost/bundles \
    OUTPOST_WORKER_SPOOL_DIR=/home/node/.cache/outpost/spool
# OUTPOST_API_URL and OUTPOST_API_KEY (a worker key) come from the environment; registry
# credentials from OUTPOST_REGISTRY_USERNAME/PASSWORD or a mounted Docker config (DOCKER_CONFIG).
ENTRYPOINT ["node", "worker/dist/main.js", "start"]
CMD ["--pool", "default"]
