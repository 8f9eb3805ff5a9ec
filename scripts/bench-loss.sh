#!/usr/bin/env bash
# Section 7 of scripts/bench.sh, runnable alone: the pair under random loss at every switch port
# (nftables numgen random, in and out: a frame crossing the switch meets two lossy points), failoverctl
# (checktime 100ms, timeout 50ms, 3 retries, the default probes= 3: detection bound 250 ms) against
# keepalived (unicast VRRP advert 0.1 s: master down after about 0.35 s) in the same run, at 0%, 1% and
# 5% per port, LOSS_SECS seconds per level and system (default 60). The client pings the activeip every
# 10 ms. Reported: takeovers (role changes to active or MASTER after the start), seconds with the
# address on both nodes and on none (sampled every 50 ms), client gaps over 0.5 s and the longest,
# and the client's loss beside what the loss alone costs a ping (1 - (1-p)^4: four lossy crossings).
#
#   sudo scripts/bench-loss.sh            (LOSS_SECS=30 for a shorter run)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "bench-loss.sh: needs root (network namespaces)" >&2; exit 2; }
command -v keepalived >/dev/null || { echo "bench-loss.sh: keepalived is not installed" >&2; exit 2; }
secs=${LOSS_SECS:-60}
cargo build --release --quiet
bin=$PWD/target/release/failoverctl
name=bl$$
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  bash scripts/netlab.sh down "$name"
  rm -rf "$work"
}
trap cleanup EXIT
ns() { printf '%s-%s' "$name" "$1"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# Not `ip | grep -q`: with pipefail an early grep exit fails the pipe (SIGPIPE) and reads as "none".
holds() { local out; out=$(ip -n "$(ns "$1")" -o -4 addr show); [[ $out == *" $2/"* ]]; }
wait_for() { local end=$(( $(now_ms) + $1 )); shift; until "$@"; do [ "$(now_ms)" -lt "$end" ] || return 1; sleep 0.02; done; }
clear_addresses() {
  for n in a b; do
    ip -n "$(ns "$n")" addr del 192.0.2.10/24 dev eth1 2>/dev/null || true
    ip -n "$(ns "$n")" addr del 198.51.100.10/24 dev eth2 2>/dev/null || true
  done
}

bash scripts/netlab.sh up "$name" >/dev/null
for node in a b; do
  bash scripts/netlab.sh config "$node" "$work" \
    | sed -e 's/^checktime=.*/checktime= 100ms/' -e 's/^timeout=.*/timeout= 50ms/' > "$work/$node.ini"
  if [ "$node" = a ]; then me=11; peer=12; prio=150; else me=12; peer=11; prio=100; fi
  cat > "$work/ka-$node.conf" <<KA
global_defs {
  router_id bench_$node
}
vrrp_instance bench {
  state BACKUP
  interface eth1
  virtual_router_id 52
  priority $prio
  advert_int 0.1
  unicast_src_ip 192.0.2.$me
  unicast_peer {
    192.0.2.$peer
  }
  virtual_ipaddress {
    192.0.2.10/24 dev eth1
  }
}
KA
done

# One measured window: loss on, the client pinging, ownership sampled; prints the row's numbers.
measure() { # SYSTEM PERMYRIAD
  local sys=$1 bp=$2 both=0 none=0 samples=0 end pp
  bash scripts/netlab.sh loss "$name" "$bp"
  ip netns exec "$(ns cl)" ping -D -n -i 0.01 -W 1 -w "$secs" 192.0.2.10 >"$work/ping.log" 2>&1 & pp=$!; pids+=($pp)
  end=$(( $(now_ms) + secs * 1000 ))
  while [ "$(now_ms)" -lt "$end" ]; do
    local ha=0 hb=0
    holds a 192.0.2.10 && ha=1
    holds b 192.0.2.10 && hb=1
    [ $((ha + hb)) -eq 2 ] && both=$((both + 1))
    [ $((ha + hb)) -eq 0 ] && none=$((none + 1))
    samples=$((samples + 1))
    sleep 0.05
  done
  wait "$pp" 2>/dev/null || true
  bash scripts/netlab.sh loss "$name" 0
  local gaps
  gaps=$(awk -F'[][]' '/bytes from/ { if (prev) { d = $2 - prev; if (d > 0.5) n++; if (d > m) m = d } prev = $2 } END { printf "%d %.2f", n, m }' "$work/ping.log")
  local lost
  lost=$(grep -o '[0-9.]*% packet loss' "$work/ping.log" | cut -d% -f1)
  awk -v s="$sys" -v bp="$bp" -v both="$both" -v none="$none" -v n="$samples" -v secs="$secs" \
      -v gaps="$gaps" -v lost="$lost" -v tk="$TAKEOVERS" 'BEGIN {
    split(gaps, g, " "); p = bp / 10000; alone = (1 - (1 - p) ^ 4) * 100
    printf "| %s | %.0f%% | %d | %.1f s | %.1f s | %d (longest %.2f s) | %.1f%% | %.1f%% |\n",
      s, p * 100, tk, both * secs / n, none * secs / n, g[1], g[2], lost, alone }'
}

echo "== 9. loss at every switch port, $secs s per level: failoverctl vs keepalived (same run)"
echo "| system | loss per port | takeovers | address on both | on none | client gaps > 0.5 s | client loss | loss alone |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for bp in 0 100 500; do
  clear_addresses
  FAILOVERCTL_REBOOT_COMMAND=true ip netns exec "$(ns a)" "$bin" run -c "$work/a.ini" 2>"$work/a.log" & fa=$!; pids+=($fa)
  wait_for 5000 holds a 192.0.2.10
  FAILOVERCTL_REBOOT_COMMAND=true ip netns exec "$(ns b)" "$bin" run -c "$work/b.ini" 2>"$work/b.log" & fb=$!; pids+=($fb)
  sleep 2
  a0=$(grep -c 'taking over' "$work/a.log" || true); b0=$(grep -c 'taking over' "$work/b.log" || true)
  TAKEOVERS=0 measure failoverctl "$bp" > "$work/row"
  a1=$(grep -c 'taking over' "$work/a.log" || true); b1=$(grep -c 'taking over' "$work/b.log" || true)
  kill -TERM "$fa" "$fb"; wait "$fa" 2>/dev/null || true; wait "$fb" 2>/dev/null || true
  sed "s/| failoverctl | \([^|]*\) | 0 |/| failoverctl | \1 | $(( a1 - a0 + b1 - b0 )) |/" "$work/row"

  clear_addresses
  for n in a b; do
    ip netns exec "$(ns "$n")" keepalived -n -l -D -f "$work/ka-$n.conf" \
      -p "$work/ka-$n.pid" -r "$work/ka-$n.vrrp.pid" -c "$work/ka-$n.chk.pid" >"$work/ka-$n.log" 2>&1 &
    pids+=($!)
    eval "k$n=$!"
  done
  wait_for 5000 holds a 192.0.2.10 || true
  sleep 2
  ka0=$(grep -c 'Entering MASTER STATE' "$work/ka-a.log" "$work/ka-b.log" | awk -F: '{ s += $2 } END { print s }')
  TAKEOVERS=0 measure keepalived "$bp" > "$work/row"
  ka1=$(grep -c 'Entering MASTER STATE' "$work/ka-a.log" "$work/ka-b.log" | awk -F: '{ s += $2 } END { print s }')
  for p in "$ka" "$kb" $(pgrep -P "$ka" || true) $(pgrep -P "$kb" || true); do kill -TERM "$p" 2>/dev/null || true; done
  wait "$ka" 2>/dev/null || true; wait "$kb" 2>/dev/null || true
  sed "s/| keepalived | \([^|]*\) | 0 |/| keepalived | \1 | $(( ka1 - ka0 )) |/" "$work/row"
done
