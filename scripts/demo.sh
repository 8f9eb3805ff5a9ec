#!/usr/bin/env bash
# A newcomer's first real failover, in a network-namespace lab that this script creates and removes:
# two failoverctl daemons (a active, b passive), a client pinging the activeip every 10 ms; node a
# fails, b takes over, and the client's longest gap is measured against the source document's bound.
#
#   sudo scripts/demo.sh [link|power|silent]     (default: power)
#
# It runs the binary built from this tree, or, without cargo, the installed /usr/sbin/failoverctl
# (FAILOVERCTL_BIN= names another).
#
# Only the lab's own namespaces and documentation addresses are touched; every process it starts is
# ended by PID on exit, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
how=${1:-power}
case "$how" in link|power|silent) ;; *) sed -n '2,9p' "$0" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "demo.sh: needs root (network namespaces)" >&2; exit 2; }

if [ -n "${FAILOVERCTL_BIN:-}" ]; then
  bin=$FAILOVERCTL_BIN
elif command -v cargo >/dev/null; then
  cargo build --quiet
  bin=$PWD/target/debug/failoverctl
else
  bin=/usr/sbin/failoverctl
fi
name=demo$$
work=$(mktemp -d)
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  bash scripts/netlab.sh down "$name"
  rm -rf "$work"
}
trap cleanup EXIT

holds() { ip -n "$name-$1" -o -4 addr show | grep -q " $2/"; }
wait_for() { # SECONDS COMMAND...: polls every 20 ms, bounded
  local end=$(( $(date +%s%N) + $1 * 1000000000 )); shift
  until "$@"; do [ "$(date +%s%N)" -lt "$end" ] || return 1; sleep 0.02; done
}

echo "== lab $name: LAN1 192.0.2.0/24, LAN2 198.51.100.0/24, sync 203.0.113.0/30"
bash scripts/netlab.sh up "$name" >/dev/null

for node in a b; do
  bash scripts/netlab.sh config "$node" "$work" "metricsfile= $work/$node.prom" > "$work/$node.ini"
done

"$bin" simulate-timing -c "$work/a.ini" | sed -n '1,12p'

start() { # NODE: the daemon, its log in the work dir; never the real reboot
  FAILOVERCTL_REBOOT_COMMAND="echo reboot >> $work/$1.reboots" \
    ip netns exec "$name-$1" "$bin" run -c "$work/$1.ini" 2>"$work/$1.log" &
  pids+=($!)
  eval "pid_$1=$!"
}

echo "== starting a, then b"
start a
wait_for 5 holds a 192.0.2.10 || { cat "$work/a.log"; exit 1; }
start b
sleep 1
"$bin" status --state-file "$work/a.state" | sed -n 1p
"$bin" status --state-file "$work/b.state" | sed -n 1p

echo "== client 192.0.2.100 pings 192.0.2.10 every 10 ms"
ip netns exec "$name-cl" ping -D -n -i 0.01 -W 0.5 -w 10 192.0.2.10 >"$work/ping.log" 2>&1 &
ping_pid=$!
pids+=($ping_pid)
sleep 1

echo "== failing node a: $how"
case "$how" in
  link) ip -n "$name-a" link set eth1 down ;;
  # `wait` reaps a at once, so bash does not print its "Killed" notice into the demo.
  power) kill -KILL "$pid_a"; wait "$pid_a" 2>/dev/null || true
         for d in eth1 eth2 sync0; do ip -n "$name-a" link set "$d" down; done ;;
  silent) bash scripts/netlab.sh silence "$name" a ;;
esac
t0=$(date +%s%N)
wait_for 5 holds b 192.0.2.10 || { echo "b did not take over"; cat "$work/b.log"; exit 1; }
echo "b owns 192.0.2.10 after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
sleep 1
kill -INT "$ping_pid" 2>/dev/null || true
wait "$ping_pid" 2>/dev/null || true

echo "== b's decisions"
# The decisions only: b's answers to a's peer questions are not b's decisions, and in the silent
# failure they pushed the takeover's reason out of view.
grep -v '\] peer: answered ' "$work/b.log" | sed 's/^/  /' | tail -8
gap=$(awk -F'[][]' '/bytes from/ { if (prev) { d = $2 - prev; if (d > max) max = d } prev = $2 } END { printf "%d", max * 1000 }' "$work/ping.log")
echo "== the client's longest gap: ${gap} ms (source document's bound for this config: checktime x 2 + timeout x (channelretries + activeretries) = 1000 ms)"
"$bin" status --state-file "$work/b.state" | sed -n 1p
echo "== b's metrics ([policy] metricsfile, Prometheus text format)"
grep -E '^failoverctl_(role\{.*\} 1|takeovers_total)' "$work/b.prom" | sed 's/^/  /'
