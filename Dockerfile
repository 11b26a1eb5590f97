# One file, three images, one per deployable: build with --target api | rabbitmq-consumer |
# kafka-consumer. The same image runs under compose, kind and GKE, configured by environment only.
# The build context is the repository root: the services are Bun workspaces sharing packages/.
# No `# syntax=` line: BuildKit's built-in frontend suffices, and naming one makes every build
# fetch it from Docker Hub first (which fails where no registry is reachable).
ARG BUN_VERSION=1.4.5

# --- Production dependencies of one workspace: lockfile frozen, no dev dependencies ---
FROM oven/bun:${BUN_VERSION}-slim AS deps-base
WORKDIR /app
COPY package.json bun.lock bunfig.toml ./
COPY packages/async/package.json packages/async/
COPY packages/brokers/package.json packages/brokers/
COPY packages/schema/package.json packages/schema/
COPY packages/config/package.json packages/config/
COPY packages/log/package.json packages/log/
COPY packages/store/package.json packages/store/
COPY api/package.json api/
COPY consumers/package.json consumers/

FROM deps-base AS api-deps
RUN bun install --frozen-lockfile --production --filter api

FROM deps-base AS consumer-deps
RUN bun install --frozen-lockfile --production --filter consumers

# --- Runtime base: sources of the shared packages, unprivileged user, health check ---
FROM oven/bun:${BUN_VERSION}-slim AS runtime
WORKDIR /app
# No transpiler cache: the root file system is read-only in Kubernetes.
ENV NODE_ENV=production \
    BUN_RUNTIME_TRANSPILER_CACHE_PATH=0
STOPSIGNAL SIGTERM
# Files stay owned by root: the services only read them.
COPY packages/async/src packages/async/src
COPY packages/brokers/src packages/brokers/src
COPY packages/schema/src packages/schema/src
COPY packages/config/src packages/config/src
COPY packages/log/src packages/log/src
COPY packages/store/src packages/store/src
# The image's unprivileged user `bun` (uid 1000); Kubernetes pins the same uid.
USER 1000:1000
# Healthy = ready (/readyz: the API's brokers connected; a consumer connected to its broker and
# store, consuming), so that `docker compose up --wait` and `depends_on: service_healthy` wait for
# a service that can do its work, not just for the process. API_PORT or HTTP_PORT: the service's port.
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s --retries=3 \
  CMD ["bun", "-e", "fetch(`http://127.0.0.1:${process.env.API_PORT ?? process.env.HTTP_PORT}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# --- API: Swagger UI is served from the swagger-ui-dist dependency, no CDN at run time ---
FROM runtime AS api
LABEL org.opencontainers.image.title="api"
COPY --from=api-deps /app /app
COPY api/src api/src
ENV API_PORT=3000 API_HOST=0.0.0.0
EXPOSE 3000
CMD ["bun", "api/src/main.ts"]

# --- Consumers: one content, two deployables; CONSUMER_SOURCE picks the pipeline ---
FROM runtime AS consumer
COPY --from=consumer-deps /app /app
COPY consumers/src consumers/src
ENV HTTP_PORT=3100 HTTP_HOST=0.0.0.0
EXPOSE 3100
CMD ["bun", "consumers/src/main.ts"]

FROM consumer AS rabbitmq-consumer
LABEL org.opencontainers.image.title="rabbitmq-consumer"

FROM consumer AS kafka-consumer
LABEL org.opencontainers.image.title="kafka-consumer"
