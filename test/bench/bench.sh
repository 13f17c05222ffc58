#!/usr/bin/env bash
# powerbridge's benchmark harness: the real binary, simulated APC PDUs with
# injected latency in a process of their own, wrk, and the MAAS-apc way of
# querying outlets, side by side in one run. BENCHMARKS.md says what each
# part measures and what it showed.
#
#   test/bench/bench.sh            every measurement (about 8 minutes)
#   test/bench/bench.sh --smoke    CI: request counts asserted, no times (under a minute)
#   test/bench/bench.sh burst|query8|matrix|detect|http|fleet|poweron|gobench ...   some of them
#
# Needs snmpget (Debian: snmp) and, for the http part, wrk (Debian: wrk).
# Everything listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/../.."

smoke=0
parts=()
for a in "$@"; do
  case "$a" in
    --smoke) smoke=1 ;;
    burst|query8|matrix|detect|http|fleet|poweron|gobench) parts+=("$a") ;;
    *) echo "usage: bench.sh [--smoke] [burst|query8|matrix|detect|http|fleet|poweron|gobench ...]" >&2; exit 2 ;;
  esac
done
if [ ${#parts[@]} -eq 0 ]; then
  if [ $smoke -eq 1 ]; then parts=(burst query8 matrix detect); else parts=(burst query8 matrix detect http fleet poweron gobench); fi
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

echo "== building powerbridge and pbbench"
go build -o "$work/powerbridge" ./cmd/powerbridge
go build -o "$work/pbbench" ./test/bench/cmd/pbbench
echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(go version | cut -d' ' -f3); load average $(cut -d' ' -f1-3 /proc/loadavg)"

token=bench-token-0123456789
ttl=2.1   # powerbridge's cache TTL (2 s) and a margin: after this, a query is cold

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# http_ok URL: whether URL answers 200 (python3, which the tests need
# anyway, rather than a command a fresh CI machine may lack).
http_ok() { python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' "$1" 2>/dev/null; }
# sims_json EXPR: EXPR evaluated on the `pbbench sims` control answer j.
sims_json() { python3 -c 'import json, sys, urllib.request; j = json.load(urllib.request.urlopen(sys.argv[1] + "/requests")); print(eval(sys.argv[2]))' "$control" "$1"; }

# start_sims NAME ARGS...: `pbbench sims` in the background, its control URL
# in $control and its first PDU's SNMP address in $first.
start_sims() {
  local name=$1; shift
  mkdir -p "$work/state-$name"
  "$work/pbbench" sims -state-dir "$work/state-$name" "$@" >"$work/$name.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 600); do
    if grep -q '^ready' "$work/$name.out"; then break; fi
    sleep 0.1
  done
  grep -q '^ready' "$work/$name.out" || { cat "$work/$name.out" >&2; exit 1; }
  control=$(sed -n 's/^ready control=\([^ ]*\).*/\1/p' "$work/$name.out")
  first=$(sed -n 's/.* first=\([^ ]*\).*/\1/p' "$work/$name.out")
}

# start_bridge CONFIG: the real binary in the background, once /readyz says
# every PDU has been read; its URL in $url and pid in $bridge. It gives up
# after $ready_within seconds (120) of the clock, however slow the checks;
# with soft=1 it then returns 1 rather than end the run.
start_bridge() {
  "$work/powerbridge" serve --config "$1" >"$work/bridge.log" 2>&1 &
  bridge=$!
  pids+=($bridge)
  url="http://$(sed -n 's/^listen: "\(.*\)"/\1/p' "$1")"
  local deadline=$((SECONDS + ${ready_within:-120}))
  while [ $SECONDS -lt $deadline ]; do
    if http_ok "$url/readyz"; then return; fi
    kill -0 "$bridge" 2>/dev/null || { cat "$work/bridge.log" >&2; exit 1; }
    sleep 0.1
  done
  if [ "${soft:-0}" = 1 ]; then return 1; fi
  echo "powerbridge never got ready" >&2; cat "$work/bridge.log" >&2; exit 1
}

stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}

machines() { # machines PDU N: the names of the machines on outlets 1..N
  local out=() ; for i in $(seq 1 "$2"); do out+=("$1-n$i"); done
  (IFS=,; echo "${out[*]}")
}

part_burst() {
  echo "== burst: cold status queries over HTTP cost each PDU one varbind per distinct outlet, in one or two requests at rest; within the cache TTL, nothing"
  for model in ap7900:8 ap8941:24; do
    local m=${model%:*} n=${model#*:}
    start_sims "burst-$m" -n 2 -model "$m" -latency 20ms -poll 1h -listen "127.0.0.1:$(free_port)" -config "$work/burst-$m.yaml"
    start_bridge "$work/burst-$m.yaml"
    sleep $ttl
    # A cold burst asks each PDU for the state of each distinct outlet
    # queried, once: n varbinds (exact). The queries that arrive while the
    # first read is under way gather for one more, so at rest a burst costs
    # one or two requests per PDU; 50 queries over HTTP on a loaded machine
    # may arrive over longer than two reads take, and each late one for an
    # outlet not yet read costs one more request. So the requests are only
    # bounded: at most one per distinct outlet.
    "$work/pbbench" burst -label "$m cold" -url "$url" -control "$control" -machines "$(machines pdu1 "$n")" -n 50 -expect-requests "1-$n" -expect-varbinds "$n"
    "$work/pbbench" burst -label "$m within TTL" -url "$url" -control "$control" -machines "$(machines pdu1 "$n")" -n 50 -expect-requests 0 -expect-varbinds 0
    sleep $ttl
    "$work/pbbench" burst -label "$m cold, two PDUs" -url "$url" -control "$control" -machines "$(machines pdu1 "$n"),$(machines pdu2 "$n")" -n 100 -expect-requests "2-$((2 * n))" -expect-varbinds "$((2 * n))"
    stop_all
  done
}

part_query8() {
  echo "== query8: 8 outlet queries on a PDU answering after 50 ms: MAAS-apc way vs powerbridge over HTTP"
  start_sims q8 -n 1 -latency 50ms -poll 1h -listen "127.0.0.1:$(free_port)" -config "$work/q8.yaml"
  start_bridge "$work/q8.yaml"
  echo "-- test/bench/maas-apc.sh $first 8"
  test/bench/maas-apc.sh "$first" 8 | tr '\n' ';'; echo
  [ "$(test/bench/maas-apc.sh "$first" 8 | wc -l)" -eq 8 ]
  if [ $smoke -eq 1 ]; then
    "$work/pbbench" query8 -url "$url" -snmp "$first" -rounds 1
  else
    "$work/pbbench" query8 -url "$url" -snmp "$first" -rounds 15
    if command -v hyperfine >/dev/null; then
      hyperfine -N --warmup 1 --runs 10 --style basic "test/bench/maas-apc.sh $first 8" 2>&1 | grep -E 'Time|Range'
    fi
  fi
  stop_all
}

# What a burst of cold status queries for n one-outlet machines of an
# AP8941 costs powerbridge's side of the matrix: OUTLETS:REQUESTS:VARBINDS.
# A status query asks for its outlets' states only, one varbind each, and
# the queries of a burst share the reads: the first query's read goes at
# once, the others gather for one more. So the varbinds are exact (each
# distinct outlet asked for once: n), and so is one outlet's request (1);
# for 8 and 24 the requests are a bound, 1 or 2, as the queries happen to
# arrive before or after the first read left (n queries sent at once
# arrive within the two reads' time, even at a load average of 12; the
# burst part's 50 and 100 may not, see there).
matrix_expect=1:1:1,8:1-2:8,24:1-2:24

part_matrix() {
  echo "== matrix: 1, 8 and 24 outlets of an AP8941, per-request and per-varbind latency: MAAS-apc way vs powerbridge, counted at the PDU"
  # The PDU has no latency while powerbridge detects it (detect measures
  # that); the matrix then sets each latency model in turn.
  start_sims mx -n 1 -model ap8941 -poll 1h -listen "127.0.0.1:$(free_port)" -config "$work/mx.yaml"
  start_bridge "$work/mx.yaml"
  if [ $smoke -eq 1 ]; then
    "$work/pbbench" matrix -url "$url" -control "$control" -snmp "$first" -latencies 10ms -rounds 1 -expect "$matrix_expect"
  else
    "$work/pbbench" matrix -url "$url" -control "$control" -snmp "$first" -latencies 0s,50ms,200ms -rounds 3 -expect "$matrix_expect" || echo "matrix: counts not as expected (above)"
  fi
  stop_all
}

# detect_once LABEL MODEL SIMS-ARGS...: start a PDU and powerbridge, and
# count what powerbridge's start-up (detection and first read) cost the PDU.
detect_once() {
  local label=$1 m=$2; shift 2
  start_sims "det-$m" -n 1 -model "$m" -no-machines -poll 1h "$@" -listen "127.0.0.1:$(free_port)" -config "$work/det-$m.yaml"
  local r0 v0; r0=$(sims_json 'j["requests"]'); v0=$(sims_json 'j["varbinds"]')
  local start; start=$(date +%s.%N)
  if start_bridge "$work/det-$m.yaml"; then
    local r1 v1; r1=$(sims_json 'j["requests"]'); v1=$(sims_json 'j["varbinds"]')
    echo "detect $m, $label: ready after $(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))" "$start" "$(date +%s.%N)") s; $((r1 - r0)) SNMP requests, $((v1 - v0)) varbinds at the PDU (load average $(cut -d' ' -f1 /proc/loadavg))"
    detected="$((r1 - r0)):$((v1 - v0))"
  else
    local r1 v1; r1=$(sims_json 'j["requests"]'); v1=$(sims_json 'j["varbinds"]')
    echo "detect $m, $label: NOT ready within ${ready_within:-120} s; $((r1 - r0)) SNMP requests, $((v1 - v0)) varbinds at the PDU so far (load average $(cut -d' ' -f1 /proc/loadavg))"
  fi
  stop_all
}

# What detection and the first read cost, over v1: requests:varbinds.
detect_ap7900=6:41
detect_ap8941=7:116

part_detect() {
  echo "== detect: what powerbridge's start-up (detection and first read of a PDU, v1) costs the PDU"
  for m in ap7900 ap8941; do
    detected=
    detect_once "no latency" "$m"
    local want=detect_$m
    if [ $smoke -eq 1 ] && [ "$detected" != "${!want}" ]; then
      echo "detect $m: $detected requests:varbinds, want ${!want}" >&2; exit 1
    fi
  done
  [ $smoke -eq 1 ] && return
  # Under the latency models: whether an AP8941 is detected and ready with
  # the default settings at all (start_bridge gives up after 120 s).
  for lm in "varbind 50ms" "request 1500ms"; do
    soft=1 detect_once "${lm% *} model, ${lm#* }" ap8941 -latency-model "${lm% *}" -latency "${lm#* }"
  done
}

part_http() {
  echo "== http: warm status route, keep-alive, 64 concurrent clients (wrk -t2 -c64), against a bare net/http handler"
  command -v wrk >/dev/null || { echo "wrk is not installed (Debian: wrk)" >&2; exit 1; }
  start_sims http -n 1 -listen "127.0.0.1:$(free_port)" -config "$work/http.yaml"
  start_bridge "$work/http.yaml"
  "$work/pbbench" bare -listen "127.0.0.1:0" >"$work/bare.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do grep -q '^ready' "$work/bare.out" && break; sleep 0.1; done
  local bare_url; bare_url=$(sed -n 's/^ready \(.*\)/\1/p' "$work/bare.out")
  local path=/v1/machines/pdu1-n3/status
  # The poller keeps the cache fresh in the real binary only every 15 s;
  # the status route answers from memory within the 2 s TTL and asks the
  # PDU (one request for everyone waiting) when it has expired.
  local rounds=5; [ $smoke -eq 1 ] && rounds=1
  : >"$work/http.tsv"
  for round in $(seq 1 $rounds); do
    for target in bare powerbridge; do
      local u=$bare_url; [ $target = powerbridge ] && u=$url
      wrk -t2 -c64 -d10s --latency -H "Authorization: Bearer $token" "$u$path" >"$work/wrk.out"
      local rps p50 p99 non2xx
      rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.out")
      p50=$(awk '$1=="50%" {print $2}' "$work/wrk.out")
      p99=$(awk '$1=="99%" {print $2}' "$work/wrk.out")
      non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/wrk.out")
      echo "http round $round: $target: $rps req/s, p50 $p50, p99 $p99${non2xx:+, NON-2XX $non2xx} (load average $(cut -d' ' -f1 /proc/loadavg))"
      [ -z "$non2xx" ] || { echo "powerbridge answered errors under load" >&2; exit 1; }
      echo "$target $rps" >>"$work/http.tsv"
    done
  done
  # Rounds alternate bare and powerbridge, so that a slow spell of the
  # machine hits both; the ratio of the medians is the figure.
  python3 - "$work/http.tsv" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    t, rps = line.split()
    runs.setdefault(t, []).append(float(rps))
b, p = statistics.median(runs["bare"]), statistics.median(runs["powerbridge"])
print(f"http: median of {len(runs['bare'])} rounds: bare {b:.0f} req/s, powerbridge {p:.0f} req/s: {100 * p / b:.0f}% of bare")
PY
  stop_all
}

# fleet_once N LABEL FLAGS...: N simulated AP8941s polled every 15 s by the
# real binary: its CPU and memory over the window, the requests the PDUs saw.
fleet_once() {
  local n=$1 label=$2; shift 2
  start_sims fleet -n "$n" -model ap8941 "$@" -listen "127.0.0.1:$(free_port)" -config "$work/fleet.yaml"
  local before; before=$(sims_json 'j["requests"]')
  ready_within=600 start_bridge "$work/fleet.yaml"
  # The pollers start together; after the first read they keep a 15 s
  # rhythm. The window holds 4 whole cycles after 2 s of warm-up.
  local r0; r0=$(sims_json 'j["requests"]')
  "$work/pbbench" proc -label "fleet $n, $label" -pid "$bridge" -warmup 2s -window $window | tee "$work/proc.out"
  local r1; r1=$(sims_json 'j["requests"]')
  local polls; polls=$(python3 -c "import sys; print(round(float(sys.argv[1]) / 15, 1))" "${window%s}")
  echo "fleet $n, $label: start-up (detection and first read): $((r0 - before)) SNMP requests; then $((r1 - r0)) in the $window window: $(python3 -c "import sys; print(round(int(sys.argv[1]) / int(sys.argv[2]), 2))" $((r1 - r0)) "$n") per PDU, for the $polls poll periods of 15 s it spans (a 60 s window holds 4 or 5 poll times) (load average $(cut -d' ' -f1 /proc/loadavg))"
  echo "$n $label $(sed -n 's/.*: \([0-9.]*\)% of one core.*RSS \([0-9.]*\) MB now, \([0-9.]*\) MB at most.*/\1 \2 \3/p' "$work/proc.out")" >>"$work/fleet.tsv"
  stop_all
}

part_fleet() {
  echo "== fleet: 10, 50, 200 and 1000 simulated AP8941s x 24 outlets, polled every 15 s: powerbridge's CPU and memory"
  local window=60s sizes="10 50 200 1000" with=200
  [ $smoke -eq 1 ] && { window=5s; sizes="10 50"; with=10; }
  : >"$work/fleet.tsv"
  # PDUs alone: a config with a machine on each of 24,000 outlets is over
  # the config file's 1 MiB bound.
  for n in $sizes; do fleet_once "$n" PDUs -no-machines; done
  # With a machine on every outlet, at one size: what the machines cost.
  fleet_once "$with" machines
  # What each PDU added between sizes, at the peak (VmHWM) and settled (RSS).
  python3 - "$work/fleet.tsv" <<'PY2'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
curve = {int(r[0]): (float(r[-2]), float(r[-1])) for r in rows if r[1] == "PDUs"}
sizes = sorted(curve)
for n0, n1 in zip(sizes, sizes[1:]):
    (rss0, hwm0), (rss1, hwm1) = curve[n0], curve[n1]
    print(f"fleet {n0} -> {n1} PDUs: {1024 * (hwm1 - hwm0) / (n1 - n0):.0f} kB more peak, {1024 * (rss1 - rss0) / (n1 - n0):.0f} kB more RSS per added PDU")
for r in rows:
    n = int(r[0])
    if r[1] == "machines" and n in curve:
        rss, hwm = float(r[-2]), float(r[-1])
        print(f"fleet {n}: its {24 * n} machines cost {1024 * (hwm - curve[n][1]) / (24 * n):.1f} kB each at the peak, {1024 * (rss - curve[n][0]) / (24 * n):.1f} kB settled")
PY2
}

part_poweron() {
  echo "== poweron: power-on through powerbridge vs the raw SNMP set + verify it performs"
  start_sims po -n 2 -switch-delay -1ns -poll 1h -listen "127.0.0.1:$(free_port)" -config "$work/po.yaml"
  start_bridge "$work/po.yaml"
  local second; second=$(sims_json 'j["pdus"]["pdu2"]["address"]')
  "$work/pbbench" poweron -url "$url" -snmp "$second" -pdu pdu1 -outlet 3 -rounds 300
  stop_all
}

part_gobench() {
  echo "== go test -bench (in process)"
  local count=6; [ $smoke -eq 1 ] && count=1
  go test -run '^$' -bench . -benchmem -count $count ./test/bench/ | tee "$work/gobench.txt" | grep -E '^Benchmark'
  # Side by side: each row a benchmark, the columns its implementations
  # (bare or MAAS-apc or raw SNMP, and powerbridge).
  if command -v benchstat >/dev/null; then benchstat -col /impl "$work/gobench.txt"; fi
}

for p in "${parts[@]}"; do "part_$p"; echo "(load average $(cut -d' ' -f1-3 /proc/loadavg))"; done
echo "== bench.sh: done"
