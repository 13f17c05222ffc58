#!/bin/sh
# Builds a release tarball, OUTDIR/powerbridge-VERSION-OS-ARCH.tar.gz, with
# one directory of that name laid out to unpack into /usr/local:
#
#   bin/powerbridge                               (built by deploy/build.sh)
#   etc/powerbridge/powerbridge.example.yaml
#   lib/systemd/system/powerbridge.service        (systemd reads /usr/local/lib/systemd/system)
#   lib/sysusers.d/powerbridge.conf               (and systemd-sysusers /usr/local/lib/sysusers.d)
#   share/doc/powerbridge/README.md
#
#   sudo tar -C /usr/local --strip-components=1 -xzf powerbridge-VERSION-linux-amd64.tar.gz
#
# Usage: deploy/release.sh OUTDIR   (VERSION, GOOS, GOARCH as for build.sh;
# SOURCE_DATE_EPOCH sets the files' time, default the last commit's)
set -eu

case "${1:-}" in
  "") echo "usage: deploy/release.sh OUTDIR" >&2; exit 2 ;;
  /*) outdir=$1 ;;
  *) outdir=$(pwd)/$1 ;;
esac
cd "$(dirname "$0")/.."

version=$(sh deploy/build.sh --version)
goos=${GOOS:-$(go env GOOS)}
goarch=${GOARCH:-$(go env GOARCH)}
name=powerbridge-$version-$goos-$goarch
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
top=$stage/$name
mkdir -p "$top/bin" "$top/etc/powerbridge" "$top/lib/systemd/system" "$top/lib/sysusers.d" "$top/share/doc/powerbridge"
VERSION=$version GOOS=$goos GOARCH=$goarch sh deploy/build.sh "$top/bin/powerbridge"
chmod 755 "$top/bin/powerbridge"
install -m 644 deploy/powerbridge.example.yaml "$top/etc/powerbridge/powerbridge.example.yaml"
install -m 644 deploy/powerbridge.service "$top/lib/systemd/system/powerbridge.service"
install -m 644 deploy/powerbridge.sysusers "$top/lib/sysusers.d/powerbridge.conf"
install -m 644 README.md "$top/share/doc/powerbridge/README.md"

mkdir -p "$outdir"
# Same inputs, same bytes: sorted names, fixed owner and times, no gzip timestamp.
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
  -cf - "$name" | gzip -n -9 > "$outdir/$name.tar.gz"
echo "$outdir/$name.tar.gz"
