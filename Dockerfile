# syntax=docker/dockerfile:1
# One image, three processes: the compose file picks the command
#   node dist/apps/api/main.js | node dist/apps/worker/main.js | node dist/apps/sandbox/main.js
# Debian (glibc) rather than Alpine: @temporalio/core-bridge ships a native module.
ARG NODE_IMAGE=node:20.20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY .swcrc tsconfig.json ./
COPY apps ./apps
COPY libs ./libs
COPY workflows ./workflows
COPY activities ./activities
RUN npm run build

FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# package.json marks the root for libs/temporal/cli-binary.ts and carries "type" for Node's loader.
COPY --chown=node:node package.json ./
COPY --from=prod-deps --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
USER node
# 3000 api, 3001 sandbox, 9464 worker metrics (/metrics, /health/live)
EXPOSE 3000 3001 9464
CMD ["node", "dist/apps/api/main.js"]
