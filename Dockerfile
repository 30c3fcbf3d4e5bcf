# enrollgate as an image, made from the package `npm pack` makes (docs/operations.md, "Docker").
#   build     the checkout with its dev dependencies packs itself (prepack builds dist/)
#   install   the tarball goes into an empty prefix, as on a host without a checkout; the
#             commands are the ones test/integration/deploy/packed-install.test.ts runs
#             (test/integration/deploy/dockerfile.test.ts keeps them the same)
#   runtime   that prefix and nothing else, run as the user enrollgate
# Everything is fetched while building; a starting container fetches nothing.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts: packing needs only TypeScript, not better-sqlite3's native part.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN mkdir /pack && npm pack --pack-destination /pack

FROM ${NODE_IMAGE} AS install
# better-sqlite3 builds its native part when no prebuilt binary for this platform can be fetched.
RUN apt-get update -qq \
 && apt-get install -y -q --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /pack /pack
RUN npm install --global --prefix /opt/enrollgate --omit=dev --no-audit --no-fund /pack/enrollgate-*.tgz

FROM ${NODE_IMAGE} AS runtime
COPY --from=install /opt/enrollgate /opt/enrollgate
# The package is inside a node_modules folder, so it defaults to /etc/enrollgate/enrollgate.yaml
# and /var/lib/enrollgate. deploy/openssl.cnf: one TLS 1.3 session ticket per 802.1X handshake (docs/dot1x.md);
# --max-old-space-size: V8's heap limit, as deploy/systemd/enrollgate.service sets it (docs/operations.md, "Memory").
ENV PATH=/opt/enrollgate/bin:$PATH \
    NODE_ENV=production \
    NODE_OPTIONS="--max-old-space-size=1024 --openssl-config=/opt/enrollgate/lib/node_modules/enrollgate/deploy/openssl.cnf"
RUN groupadd --system enrollgate \
 && useradd --system --gid enrollgate --home-dir /var/lib/enrollgate --shell /usr/sbin/nologin enrollgate \
 && mkdir -p /etc/enrollgate /var/lib/enrollgate \
 && chown enrollgate:enrollgate /var/lib/enrollgate \
 && chmod 0750 /var/lib/enrollgate
USER enrollgate
WORKDIR /var/lib/enrollgate
VOLUME /var/lib/enrollgate
EXPOSE 8080 8443 1812/udp 1813/udp
CMD ["enrollgate", "start"]
