# IVF Interface Hub — production image.
#   docker build -t ivf-hub .
#   docker run -p 1880:1880 -v hub-data:/data -e HUB_ADMIN_PASSWORD=… ivf-hub
# Ports: 1880 (HTTP or, with HUB_TLS_*, HTTPS: editor, /api/v1, /monitor,
# /metrics, /healthz, /readyz). Listener nodes (MLLP, ASTM) open the ports
# configured in their flows; publish those too (commonly 2575 for MLLP).

FROM node:20-bookworm-slim AS build
# better-sqlite3 compiles from source against Node's headers.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY hub ./hub
COPY config ./config
COPY adapters ./adapters
COPY nodes ./nodes
COPY test ./test
RUN node hub/tools/build.js && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HUB_DATA_DIR=/data \
    HUB_PORT=1880 \
    HUB_BIND=0.0.0.0
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/hub/tools/healthcheck.js ./hub/tools/healthcheck.js
COPY flows ./flows
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 1880
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["node", "hub/tools/healthcheck.js"]
STOPSIGNAL SIGTERM
CMD ["node", "dist/hub/main.js"]
