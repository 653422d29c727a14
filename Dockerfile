# mgproxy on the LAN: docker run -p 8899:8899 -v mgproxy-ca:/data/ca mgproxy
# The admin port stays on the container's 127.0.0.1 (SPEC §8); reach it with `docker exec`.

FROM node:22-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY proxy proxy
COPY certs certs
COPY config config
COPY test test
# npm ci runs `prepare`, which compiles TypeScript into dist/
RUN npm ci && npm prune --omit=dev

FROM node:22-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/config config
RUN mkdir -p /data/ca && chown node:node /data/ca
VOLUME ["/data/ca"]
USER node
EXPOSE 8899
ENTRYPOINT ["node", "dist/proxy/cli.js"]
CMD ["start", "--host", "0.0.0.0", "--port", "8899", "--ca-dir", "/data/ca", "--config", "config/example.config.json", "--no-pretty"]
