#!/bin/sh
# Builds the powerbridge binary, the one way every artifact builds it: the
# Dockerfile's build stage runs this script, so do deploy/release.sh and the
# tests (test/deploy_test.go), which also check that the Dockerfile keeps to
# it. Change how powerbridge is built here and nowhere else.
#
#   deploy/build.sh OUTPUT      build to OUTPUT
#   deploy/build.sh --version   print the version it would stamp
#
# The binary is static (no cgo: it runs on distroless/static and any Linux),
# carries no paths of the build machine (-trimpath) and no symbol tables.
# VERSION=v1.2.3 stamps a version (default: git describe, when there is a
# .git; else the binary reports its module version or "devel"). GOOS and
# GOARCH cross-compile as usual.
set -eu

case "${1:-}" in
  "") echo "usage: deploy/build.sh OUTPUT | --version" >&2; exit 2 ;;
  --version) out= ;;
  /*) out=$1 ;;
  *) out=$(pwd)/$1 ;;
esac
cd "$(dirname "$0")/.."

version=${VERSION:-}
if [ -z "$version" ] && [ -e .git ] && command -v git >/dev/null 2>&1; then
  version=$(git describe --tags --always --dirty 2>/dev/null || true)
fi
if [ -z "$out" ]; then
  echo "${version:-devel}"
  exit 0
fi

ldflags="-s -w"
if [ -n "$version" ]; then
  ldflags="$ldflags -X main.version=$version"
fi
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out" ./cmd/powerbridge
