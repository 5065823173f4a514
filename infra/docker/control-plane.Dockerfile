# The control plane: API, background loops and the dashboard in one image.
# Build from the repository root:  docker build -f infra/docker/control-plane.Dockerfile -t outpost/control-plane .
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
RUN npx turbo run build --filter=@outpost/api... --filter=@outpost/dashboard --filter=@outpost/cli \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/sdk/package.json sdk/
COPY --from=build /src/sdk/dist sdk/dist
COPY --from=build /src/cli/package.json cli/
COPY --from=build /src/cli/bin cli/bin
COPY --from=build /src/cli/dist cli/dist
COPY --from=build /src/services/api/package.json services/api/
COPY --from=build /src/services/api/dist services/api/dist
COPY --from=build /src/services/dashboard/package.json /src/services/dashboard/index.js services/dashboard/
COPY --from=build /src/services/dashboard/dist services/dashboard/dist
USER node
EXPOSE 4200
# DATABASE_URL must point at a real Postgres in production; without it the server would start an
# embedded one inside the container, which is for local use only.
CMD ["node", "services/api/dist/main.js", "server", "start", "--host", "0.0.0.0", "--port", "4200"]
