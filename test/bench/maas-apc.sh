#!/usr/bin/env bash
# The MAAS-apc way of querying outlets, the baseline powerbridge is measured
# against: MAAS's own apc power driver runs one `snmpget -c private -v1`
# process per outlet per query, reading rPDUOutletControlOutletCommand.N
# (its default pdu_type, rPDU), and searches the output for `INTEGER: 1|2`.
# This does that for outlets 1..N, one after another.
#
#   test/bench/maas-apc.sh HOST[:PORT] [N]      (N defaults to 8)
set -euo pipefail
addr=${1:?usage: maas-apc.sh HOST[:PORT] [N]}
n=${2:-8}
for i in $(seq 1 "$n"); do
  out=$(snmpget -c private -v1 "$addr" ".1.3.6.1.4.1.318.1.1.12.3.3.1.1.4.$i")
  case "$out" in
    *"INTEGER: 1"*) echo "outlet $i: on" ;;
    *"INTEGER: 2"*) echo "outlet $i: off" ;;
    *) echo "outlet $i: no state in: $out" >&2; exit 1 ;;
  esac
done
