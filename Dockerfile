# powerbridge in a container: a static binary on distroless, run as a
# non-root user, with the config and keys mounted read-only.
#
# Build: docker build --build-arg VERSION="$(git describe --tags --always)" -t powerbridge .
# Run:   docker run -d --name powerbridge -p 8080:8080 \
#          -v /etc/powerbridge:/etc/powerbridge:ro \
#          -v powerbridge-state:/var/lib/powerbridge \
#          powerbridge
# Try:   docker run --rm -p 8080:8080 powerbridge serve --simulate --listen 0.0.0.0:8080
#
# The binary is built by deploy/build.sh, as the release tarball and the
# tests build it; test/deploy_test.go checks that this file keeps to that.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=
RUN VERSION="$VERSION" sh deploy/build.sh /out/powerbridge && mkdir -p /out/state

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/powerbridge /usr/local/bin/powerbridge
# state_dir: ssh host keys pinned on first contact. Keep it in a volume.
COPY --from=build --chown=65532:65532 /out/state /var/lib/powerbridge
VOLUME ["/var/lib/powerbridge"]
# distroless's "nonroot", by number, so that runAsNonRoot can check it.
USER 65532:65532
EXPOSE 8080
# The default --url is http://127.0.0.1:8080/healthz: with another listen
# port or TLS, override it (docker run --health-cmd ...).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/powerbridge", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/powerbridge"]
CMD ["serve", "--config", "/etc/powerbridge/powerbridge.yaml", "--log-format", "json"]
