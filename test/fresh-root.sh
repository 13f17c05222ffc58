#!/usr/bin/env bash
# Runs CI, and optionally the README's commands, on a freshly debootstrapped
# Debian bookworm, as a newcomer's machine would be: what passes only on a
# machine that happens to have more installed is found here.
#
#   sudo test/fresh-root.sh [--runs N] [--modes ci,root,user] [COMMIT]
#
# The root holds debootstrap's minbase bookworm (the apt sources of this
# machine, an /etc/hosts with localhost), Go copied from /usr/local/go, the
# local CA certificates of this machine (/usr/local/share/ca-certificates,
# for a network that intercepts TLS) and nothing else; beside the checkout (a clean clone of COMMIT, default HEAD,
# at /work/main) it gets a copy of /work/shared at /work/shared. Each run
# starts from the pristine root, kept as a tarball, and runs
# `CI=true bash .ci/run` as root with proc, sys, dev, dev/pts and a fresh
# /run mounted in a mount namespace of its own (gone when the run ends).
# --modes says what each run does, on a fresh root each: ci (the default)
# is the above; root and user run the README's two commands as written, by
# root and by a user "newcomer" with sudo (sudo is installed for that case
# only): the demo until it prints its curl lines, then ./test/run.sh.
#
# FRESH_DIR (default /var/tmp/powerbridge-fresh) holds the tarball and the
# current run's root; logs are FRESH_DIR/run-N.log.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${FRESH_DIR:-/var/tmp/powerbridge-fresh}
mirror=http://deb.debian.org/debian
runs=1 modes=ci commit=HEAD
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "usage: fresh-root.sh [--runs N] [--modes ci,root,user] [COMMIT]" >&2; exit 2 ;;
    *) commit=$1; shift ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "fresh-root.sh: needs root (debootstrap, chroot, mounts)" >&2; exit 1; }
[ -x /usr/local/go/bin/go ] || { echo "fresh-root.sh: no Go in /usr/local/go to copy into the root" >&2; exit 1; }
rev=$(git -C "$here" rev-parse --verify "$commit^{commit}")
shared=$(cd "$here/.." && pwd)/shared
[ -d "$shared" ] || shared=/work/shared
mkdir -p "$dir"

pristine=$dir/pristine.tar
if [ ! -f "$pristine" ]; then
  command -v debootstrap >/dev/null || apt-get install -y debootstrap
  echo "== debootstrap bookworm (minbase) from $mirror"
  rm -rf "$dir/build"
  debootstrap --variant=minbase bookworm "$dir/build" "$mirror"
  # This machine's apt sources (bookworm, -updates, -security), in place of
  # debootstrap's one line.
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    cp /etc/apt/sources.list.d/debian.sources "$dir/build/etc/apt/sources.list.d/"
    : >"$dir/build/etc/apt/sources.list"
  fi
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$dir/build/etc/hosts"
  echo fresh >"$dir/build/etc/hostname"
  rm -rf "$dir/build/var/cache/apt/archives/"*.deb
  tar -C "$dir/build" -cf "$pristine.new" .
  mv "$pristine.new" "$pristine"
  rm -rf "$dir/build"
fi

root=$dir/root
# fresh: the pristine root, Go, resolv.conf, the clone of $rev and shared/.
fresh() {
  rm -rf "$root"
  mkdir -p "$root"
  tar -C "$root" -xf "$pristine"
  cp -a /usr/local/go "$root/usr/local/go"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # The chroot keeps this machine's host name: make it resolve, as on any
  # installed machine (sudo warns otherwise).
  printf '127.0.1.1\t%s\n' "$(uname -n)" >>"$root/etc/hosts"
  # This machine's local CA certificates, for a network that intercepts TLS
  # (the Go module proxy is https): ca-certificates, once run.sh installs
  # it, adds them, as it would on the machine itself.
  if compgen -G '/usr/local/share/ca-certificates/*' >/dev/null; then
    cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
  fi
  mkdir -p "$root/work"
  git clone -q --no-local "$here" "$root/work/main"
  git -C "$root/work/main" checkout -q --detach "$rev"
  cp -a "$shared" "$root/work/shared"
}

# in_root SCRIPT: SCRIPT run by bash as root in the root, with the mounts a
# machine has, in a mount namespace that ends with it.
in_root() {
  unshare --mount --propagation private bash -euc '
    r=$1; shift
    # The root a mount point, as / is on a machine: ip netns exec remounts
    # it (mount --make-rslave /), which fails on a plain directory.
    mount --bind "$r" "$r"
    mount -t proc proc "$r/proc"
    mount --rbind /sys "$r/sys"
    mount --rbind /dev "$r/dev"    # with dev/pts and dev/shm
    mount -t tmpfs -o mode=755 tmpfs "$r/run"
    exec chroot "$r" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
      PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      bash -euc "$1"' _ "$root" "$1"
}

secs() { local s=$1; printf '%dm%02ds' $((s / 60)) $((s % 60)); }
status=0
for n in $(seq 1 "$runs"); do
  if [[ ,$modes, == *,ci,* ]]; then
    log=$dir/run-$n.log
    echo "== run $n of $runs: $rev on a fresh root (log: $log); load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
    fresh
    start=$(date +%s)
    if in_root 'cd /work/main && CI=true bash .ci/run' >"$log" 2>&1; then rc=0; else rc=$?; fi
    took=$(( $(date +%s) - start ))
    sed -n '/^== summary/,$p' "$log"
    echo "== run $n: CI=true bash .ci/run exited $rc after $(secs $took); load average $(cut -d' ' -f1-3 /proc/loadavg)"
    [ "$rc" -eq 0 ] || status=1
  fi

  if [[ ,$modes, == *,root,* || ,$modes, == *,user,* ]]; then
    # The README's commands as written: the demo (until it prints its curl
    # lines), then the test command; by root, then by a user with sudo.
    demo='setsid timeout 900 go run ./cmd/powerbridge serve --simulate >/tmp/demo.log 2>&1 & p=$!
      for _ in $(seq 1 900); do grep -q "curl " /tmp/demo.log && break; sleep 1; done
      kill -- -$p 2>/dev/null || true; wait || true
      grep "curl " /tmp/demo.log || { cat /tmp/demo.log; exit 1; }'
    for who in root newcomer; do
      [[ ,$modes, == *,${who/newcomer/user},* ]] || continue
      echo "== run $n of $runs: the README's commands by $who on a fresh root; load average $(cut -d' ' -f1-3 /proc/loadavg)"
      fresh
      log=$dir/run-$n-readme-$who.log
      # What the README says the first command needs besides Go: the CA
      # certificates the module download checks.
      prereq="apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ca-certificates >/dev/null"
      if [ $who = root ]; then
        script="$prereq && cd /work/main && { $demo; } && ./test/run.sh"
      else
        script="$prereq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sudo >/dev/null
          useradd -m -s /bin/bash newcomer
          echo 'newcomer ALL=(ALL) NOPASSWD: ALL' >/etc/sudoers.d/newcomer
          chmod 440 /etc/sudoers.d/newcomer
          chown -R newcomer: /work/main
          echo 'export PATH=/usr/local/go/bin:\$PATH' >>/home/newcomer/.profile
          su - newcomer -c 'cd /work/main && { $demo; } && ./test/run.sh'"
      fi
      start=$(date +%s)
      if in_root "$script" >"$log" 2>&1; then rc=0; else rc=$?; fi
      took=$(( $(date +%s) - start ))
      sed -n '/^== summary/,$p' "$log"
      echo "== run $n, README's commands by $who: exited $rc after $(secs $took) (log: $log)"
      [ "$rc" -eq 0 ] || status=1
    done
  fi
done
rm -rf "$root"
exit $status
