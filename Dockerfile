# One image for every Sluice role: `docker run sluice up` runs the whole system, `up --only <role>` one role
# (broker, api, worker, relay, and each app's roles), `broker`, `topics`, … any other sluice command.
#
#   docker build -t sluice:0.1.0 .
#   docker run --rm -p 8080:8080 -p 9092:9092 sluice:0.1.0
#
# Node handles SIGTERM itself (sluice stops gracefully within --shutdown-timeout-ms), so the entrypoint runs node
# directly: no shell in between to swallow signals.

ARG NODE_IMAGE=node:22.23.3-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY web ./web
RUN npm run build && npm pack --ignore-scripts --pack-destination /tmp && mkdir /package \
  && tar -xzf /tmp/sluice-*.tgz -C /package --strip-components=1 && cp package-lock.json /package/

FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="sluice" \
      org.opencontainers.image.description="Event-driven message platform for TypeScript: a Kafka-compatible broker, PostgreSQL persistence, a service toolkit, a gateway and apps" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="0.1.0"
ENV NODE_ENV=production \
    SLUICE_HOST=0.0.0.0 \
    SLUICE_BROKER_HOST=0.0.0.0 \
    SLUICE_DATA_DIR=/data
WORKDIR /app
COPY --from=build /package ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force \
  && mkdir /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080 9092
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.SLUICE_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["up"]
