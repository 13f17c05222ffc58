#!/usr/bin/env bash
# Runs every powerbridge test: formatting, vet, the Go suites with the race
# detector (unit, integration against net-snmp and a real sshd, end-to-end
# against the real binary), and the MAAS driver shim's Python tests.
#
# Debian packages the tests use are installed first when they are missing
# (this needs root, as do the network-namespace tests).
set -euo pipefail
cd "$(dirname "$0")/.."

# command → Debian package that provides it
declare -A need=(
  [snmpget]=snmp
  [snmpd]=snmpd
  [sshd]=openssh-server
  [ssh-keygen]=openssh-client
  [netplan]=netplan.io
  [nft]=nftables
  [iptables]=iptables
  [ip]=iproute2
  [prometheus]=prometheus
  [promtool]=prometheus
  [/usr/bin/python3]=python3   # Debian's, whatever else is first on PATH
  [openssl]=openssl
  [file]=file
  [sysctl]=procps
  [systemd-analyze]=systemd
  [systemd-sysusers]=systemd
  [redfishtool]=redfishtool
)
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("${need[$cmd]}")
done
# Python module → Debian package: the Redfish and pdudaemon clients
for mod in sushy:python3-sushy labgrid:python3-labgrid; do
  /usr/bin/python3 -c "import ${mod%%:*}" >/dev/null 2>&1 || missing+=("${mod#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: $pkgs; run this script as root to install them" >&2
    exit 1
  fi
  echo "== installing $pkgs"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2; echo "$unformatted" >&2; exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -count=1 ./...

echo "== fuzz (bounded; a crasher lands in the package's testdata/fuzz: keep it as a regression case)"
# Each target's seed corpus ran above as ordinary tests; here each is fuzzed
# for a while: config parsing, the HTTP routes, the recording loader.
fuzztime=${FUZZTIME:-20s}
for target in \
  FuzzParse:./cmd/powerbridge/internal/config \
  FuzzRoutes:./server \
  FuzzParse:./power/apcsim; do
  go test -run '^$' -fuzz "^${target%%:*}\$" -fuzztime "$fuzztime" "${target#*:}"
done

echo "== driver-shim (python3 unittest)"
bin=$(mktemp -d)/powerbridge
go build -o "$bin" ./cmd/powerbridge
POWERBRIDGE_BIN="$bin" /usr/bin/python3 -m unittest discover -s driver-shim/tests -t driver-shim -v

echo "== benchmark harness smoke (test/bench/bench.sh --smoke: SNMP request counts at the simulated PDUs asserted, never times)"
test/bench/bench.sh --smoke
