# Build: docker build -t powerbridge .
# Run:   docker run -p 8080:8080 -v /etc/powerbridge:/etc/powerbridge:ro powerbridge
# Try:   docker run -p 8080:8080 powerbridge serve --simulate --listen 0.0.0.0:8080
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/powerbridge ./cmd/powerbridge

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/powerbridge /usr/local/bin/powerbridge
USER nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/powerbridge"]
CMD ["serve", "--config", "/etc/powerbridge/powerbridge.yaml"]
