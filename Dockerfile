# mgproxy on the LAN: docker run -p 8899:8899 -p 127.0.0.1:8900:8900 -v mgproxy-ca:/data/ca mgproxy
# The admin API and dashboard listen on 0.0.0.0 inside the container (--admin-host, docs/dashboard.md) so that
# a published port reaches them; publish 8900 on the host's loopback only: whoever reaches it can
# read the traffic and switch background mode.
# Node 24 is the Active LTS line (package.json's engines still allows >= 20).

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY proxy proxy
COPY certs certs
COPY config config
COPY test test
COPY scripts scripts
# npm ci runs `prepare` (`npm run build`): tsc compiles TypeScript into dist/, then esbuild (a
# devDependency, pruned below) bundles the CLI into dist/proxy/cli.js (docs/startup.md)
RUN npm ci && npm prune --omit=dev

FROM node:24-slim
ENV NODE_ENV=production
# Tells mgproxy it runs in a container: a non-loopback --admin-host is expected here, not warned about.
ENV MGPROXY_CONTAINER=1
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/config config
RUN mkdir -p /data/ca && chown node:node /data/ca
VOLUME ["/data/ca"]
USER node
EXPOSE 8899 8900
ENTRYPOINT ["node", "dist/proxy/cli.js"]
CMD ["start", "--host", "0.0.0.0", "--port", "8899", "--admin-host", "0.0.0.0", "--admin-port", "8900", "--ca-dir", "/data/ca", "--config", "config/example.config.json", "--no-pretty"]
