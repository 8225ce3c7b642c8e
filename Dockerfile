# tensorshare's image: the daemon (node agent), the gateway (`serve`, KServe's
# runtime container) and the scheduler extender all run from it; its
# entrypoint is the `tensorshare` command. Manifests: deploy/kubernetes.
#   docker build -t tensorshare:0.1.0 .
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY proto ./proto
COPY functions ./functions
COPY assets ./assets
# npm ci runs `prepare` (tsc and the dashboard's build); ONNX Runtime's install
# script would download CUDA files from outside the registry: the CPU provider is
# bundled, and `tensorshare gpu provision` installs CUDA where a node has GPUs.
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund

FROM node:20.20.2-bookworm-slim
# One unprivileged user; the manifests run every container as it (10001:10001).
RUN groupadd --gid 10001 tensorshare && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin tensorshare
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/bin ./bin
COPY --from=build /src/proto ./proto
COPY --from=build /src/functions ./functions
COPY --from=build /src/assets ./assets
ENV NODE_ENV=production HOME=/tmp
USER 10001:10001
ENTRYPOINT ["node", "/app/bin/tensorshare.js"]
CMD ["--help"]
