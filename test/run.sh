#!/usr/bin/env bash
# Runs every powerbridge test: formatting, vet, the Go suites with the race
# detector (unit, integration against net-snmp and a real sshd, end-to-end
# against the real binary), bounded fuzzing, the MAAS driver shim's Python
# tests and the benchmark harness's smoke run.
#
#   ./test/run.sh          as yourself (with sudo for what needs root) or as root
#   sudo ./test/run.sh     works too: Go is found where sudo's PATH lost it
#
# Debian packages the tests use are installed first when they are missing:
# that, and the tests that need network namespaces, are the only things run
# as root (through sudo when you are not root). Every stage runs even when
# one before it failed; the summary at the end lists each, and the exit
# status is non-zero when any failed.
set -uo pipefail
cd "$(dirname "$0")/.."

die() { echo "test/run.sh: $*" >&2; exit 1; }

uid=$(id -u)
# as_root CMD...: CMD as root, through sudo when not root already.
as_root() {
  if [ "$uid" -eq 0 ]; then "$@"; else sudo "$@"; fi
}
can_be_root() { [ "$uid" -eq 0 ] || command -v sudo >/dev/null 2>&1; }

# Go: on PATH, or where sudo's secure_path (or a login shell's PATH) lost it.
find_go() {
  command -v go >/dev/null 2>&1 && return 0
  local home="" cands=() d
  if [ -n "${SUDO_USER:-}" ]; then home=$(getent passwd "$SUDO_USER" | cut -d: -f6); fi
  cands+=(/usr/local/go/bin)
  for h in "$home" "${HOME:-}"; do
    [ -n "$h" ] || continue
    cands+=("$h/go/bin" "$h/.local/go/bin" "$h/sdk/go/bin")
    for d in "$h"/sdk/go*/bin; do [ -d "$d" ] && cands+=("$d"); done
  done
  cands+=(/usr/lib/go/bin /snap/bin)
  # The invoking user's own Go, as their login shell finds it.
  if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
    d=$(su - "$SUDO_USER" -c 'command -v go >/dev/null && go env GOROOT' 2>/dev/null) && [ -n "$d" ] && cands+=("$d/bin")
  fi
  for d in "${cands[@]}"; do
    if [ -x "$d/go" ]; then
      PATH="$d:$PATH"
      # gofmt lives in GOROOT/bin, which is not always beside the go found.
      command -v gofmt >/dev/null 2>&1 || PATH="$("$d/go" env GOROOT)/bin:$PATH"
      export PATH
      echo "== using $d/go ($(go version | cut -d' ' -f3)); it was not on PATH"
      return 0
    fi
  done
  return 1
}
find_go || die "no Go found on PATH, in /usr/local/go/bin, or in ${SUDO_USER:+$SUDO_USER\'s }home: install Go 1.26 (https://go.dev/doc/install) and put its bin directory on PATH"

# No VCS stamp in test builds: as root in a checkout someone else owns (sudo
# ./test/run.sh), git refuses the repository and the build would fail.
case " ${GOFLAGS:-} " in
  *" -buildvcs=false "*) ;;
  *) export GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false" ;;
esac

# command → Debian package that provides it. The list is what a freshly
# debootstrapped bookworm (test/fresh-root.sh) lacks.
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
  [ps]=procps
  [systemd-analyze]=systemd
  [systemd-sysusers]=systemd
  [gcc]=gcc                    # cgo, which -race needs
  [/usr/include/stdlib.h]=libc6-dev   # gcc without recommends lacks it
  [git]=git
  [curl]=curl                  # the client that gives up mid-action in the outlet tests
  [/etc/ssl/certs/ca-certificates.crt]=ca-certificates   # the Go module proxy is https
  [redfishtool]=redfishtool
  [chromium]=chromium          # the browser the web page's tests drive headless
)
missing=()
for cmd in "${!need[@]}"; do
  if [[ $cmd == /* ]]; then
    [ -e "$cmd" ] || missing+=("${need[$cmd]}")
  else
    command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("${need[$cmd]}")
  fi
done
# Python module → Debian package: the Redfish and pdudaemon clients
for mod in sushy:python3-sushy labgrid:python3-labgrid; do
  /usr/bin/python3 -c "import ${mod%%:*}" >/dev/null 2>&1 || missing+=("${mod#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  if ! can_be_root; then
    die "missing Debian packages: $pkgs
installing them needs root, and there is no sudo here: run this script as root, or have root run
  apt-get install -y --no-install-recommends $pkgs"
  fi
  echo "== installing $pkgs$([ "$uid" -eq 0 ] || echo "(through sudo)")"
  as_root apt-get update -qq || die "apt-get update failed"
  # shellcheck disable=SC2086
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs >/dev/null ||
    die "installing $pkgs failed"
fi

# One temporary directory for everything this script builds, removed however
# the script ends.
work=$(mktemp -d -t powerbridge-run.XXXXXX)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM   # so that EXIT's cleanup runs on Ctrl-C too

results=()
failed=0
# stage NAME CMD...: runs CMD, records NAME as PASS or FAIL, and goes on.
stage() {
  local name=$1; shift
  echo
  echo "== $name"
  if "$@"; then
    results+=("PASS  $name")
  else
    results+=("FAIL  $name")
    failed=1
  fi
}
skip() { results+=("SKIP  $1 ($2)"); echo; echo "== $1: skipped: $2"; }

gofmt_check() {
  local unformatted
  unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go')) || return 1
  if [ -n "$unformatted" ]; then
    echo "gofmt would change:" >&2; echo "$unformatted" >&2; return 1
  fi
}
stage "gofmt" gofmt_check
stage "go vet" go vet ./...
stage "go test -race" go test -race -count=1 -timeout 15m ./...

# Tests that need root for network namespaces (they skip themselves when
# not root). As root they ran above; otherwise their test binaries, built
# here as you, are run through sudo, so that Go itself never runs as root.
roottests=(
  "./test/gateway:."                                  # a gateway and two hosts in namespaces of their own
  "./test:^TestNetworkVanishesMidCommand\$"           # sshd in a namespace whose link is cut
  "./test:^TestWakeOnLAN"                             # a machine woken by LAN in a namespace
  "./power/shutdown:^TestNetworkVanishesMidCommand\$"
)
root_packages_listed() {
  # Every package whose tests ask for root must be in roottests.
  local dir bad=0
  for dir in $(grep -lE 'Geteuid\(\) != 0|NetNS: *true|netns: *true' --include='*_test.go' -r . | xargs -n1 dirname | sort -u); do
    case " ${roottests[*]} " in
      *" $dir:"*) ;;
      *) echo "$dir has tests that need root but is not in test/run.sh's roottests" >&2; bad=1 ;;
    esac
  done
  return $bad
}
run_root_tests() {
  local entry pkg re bin rc=0
  root_packages_listed || rc=1
  go build -race -o "$work/powerbridge-race" ./cmd/powerbridge || return 1
  for entry in "${roottests[@]}"; do
    pkg=${entry%%:*} re=${entry#*:}
    bin="$work/$(echo "${pkg#./}" | tr / _).test"
    go test -c -race -o "$bin" "$pkg" || { rc=1; continue; }
    echo "sudo $pkg -run '$re'"
    (cd "$pkg" && sudo env POWERBRIDGE_TEST_BINARY="$work/powerbridge-race" "$bin" -test.run "$re" -test.count=1) || rc=1
  done
  return $rc
}
if [ "$uid" -eq 0 ]; then
  : # they ran in "go test -race"
elif command -v sudo >/dev/null 2>&1; then
  stage "go test -race, as root: network namespaces" run_root_tests
else
  skip "go test -race, as root: network namespaces" "not root and no sudo; they skipped themselves above"
fi

# Each target's seed corpus ran above as ordinary tests; here each is fuzzed
# for a while: config parsing, the HTTP routes, the recording loader. A
# crasher lands in the package's testdata/fuzz: keep it as a regression case.
fuzz() {
  local target rc=0
  for target in \
    FuzzParse:./cmd/powerbridge/internal/config \
    FuzzRoutes:./server \
    FuzzParse:./power/pdusim; do
    go test -run '^$' -fuzz "^${target%%:*}\$" -fuzztime "${FUZZTIME:-20s}" "${target#*:}" || rc=1
  done
  return $rc
}
stage "fuzz (bounded)" fuzz

shim() {
  go build -o "$work/powerbridge" ./cmd/powerbridge || return 1
  POWERBRIDGE_BIN="$work/powerbridge" /usr/bin/python3 -m unittest discover -s driver-shim/tests -t driver-shim -v
}
stage "driver-shim (python3 unittest)" shim

# SNMP request counts at the simulated PDUs asserted, never times.
stage "benchmark harness smoke (test/bench/bench.sh --smoke)" test/bench/bench.sh --smoke

echo
echo "== summary"
printf '%s\n' "${results[@]}"
if [ $failed -ne 0 ]; then
  echo "test/run.sh: some stages failed (above)" >&2
  exit 1
fi
echo "every stage passed"
