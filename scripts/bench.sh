#!/usr/bin/env bash
# Benchmarks in the network-namespace lab, each reported as a ratio against a baseline measured in
# the same run (never as an assertion):
#   1. probe concurrency: N targets (half of them dead) in one `probe` call vs N calls one by one;
#   2. failover: the client's longest gap when the active is powered off vs the source document's
#      outage bound for the lab config (checktime x 2 + timeout x (channelretries + activeretries));
#   3. memory: the running daemon's peak RSS vs the bare binary's (`failoverctl --version`);
#   4. validation scale: the time per channel to validate 8,000 channels vs 1,000 (linear: about 1);
#   5. simulate-timing: the CPU of 10,000 seeded runs of one scenario;
#   6. idle cost: CPU (utime+stime of every thread, /proc/PID/stat) of both nodes over 30 s and RSS,
#      failoverctl at checktime 100ms vs keepalived with a unicast VRRP advert every 0.1 s, in the same
#      run; and the writes of an idle active (write syscalls via /proc/PID/io, state file mtime);
#   7. per failure (planned stop, handover, link down, power off, silent, daemon killed) the client's
#      gap against keepalived in the same lab at the same rate: scripts/bench_failover.sh.
#
#   sudo scripts/bench.sh [ROUNDS]        (default 3 rounds each)
#
# Only the lab's own namespaces and documentation addresses are used; every process started here is
# ended by PID; the lab is removed on exit, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
[ "$(id -u)" -eq 0 ] || { echo "bench.sh: needs root (network namespaces)" >&2; exit 2; }
if ! command -v keepalived >/dev/null; then
  apt-get install -y keepalived >/dev/null || { echo "bench.sh: cannot install keepalived" >&2; exit 2; }
fi

cargo build --release --quiet
bin=$PWD/target/release/failoverctl
name=bench$$
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
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
holds() { local s; s=$(ip -n "$(ns "$1")" -o -4 addr show); [[ $s == *" $2/"* ]]; }
wait_for() { local end=$(( $(now_ms) + $1 )); shift; until "$@"; do [ "$(now_ms)" -lt "$end" ] || return 1; sleep 0.02; done; }

bash scripts/netlab.sh up "$name" >/dev/null

echo "== 1. probe concurrency (6 targets, 3 dead, timeout 300ms, $rounds rounds)"
targets=(192.0.2.1 192.0.2.100 192.0.2.12 192.0.2.201 192.0.2.202 192.0.2.203)
conc=(); seq=()
for _ in $(seq "$rounds"); do
  t=$(now_ms)
  ip netns exec "$(ns a)" "$bin" probe --device eth1 --timeout 300ms "${targets[@]}" >/dev/null || true
  conc+=($(( $(now_ms) - t )))
  t=$(now_ms)
  for x in "${targets[@]}"; do
    ip netns exec "$(ns a)" "$bin" probe --device eth1 --timeout 300ms "$x" >/dev/null || true
  done
  seq+=($(( $(now_ms) - t )))
done
c=$(printf '%s\n' "${conc[@]}" | median); s=$(printf '%s\n' "${seq[@]}" | median)
echo "one call: ${c} ms; one by one (baseline): ${s} ms; speed-up: $(awk -v a="$s" -v b="$c" 'BEGIN { printf "%.2f", a / b }')x"

echo "== 2. failover gap, active powered off ($rounds rounds)"
for node in a b; do bash scripts/netlab.sh config "$node" "$work" > "$work/$node.ini"; done
bound=$("$bin" simulate-timing -c "$work/a.ini" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["total_outage_ms"])')
gaps=()
for round in $(seq "$rounds"); do
  for n in a b; do ip -n "$(ns "$n")" addr del 192.0.2.10/24 dev eth1 2>/dev/null || true; ip -n "$(ns "$n")" addr del 198.51.100.10/24 dev eth2 2>/dev/null || true; done
  for d in eth1 eth2 sync0; do ip -n "$(ns a)" link set "$d" up; done
  FAILOVERCTL_REBOOT_COMMAND=true ip netns exec "$(ns a)" "$bin" run -c "$work/a.ini" 2>>"$work/a.log" & pa=$!; pids+=($pa)
  wait_for 5000 holds a 192.0.2.10
  FAILOVERCTL_REBOOT_COMMAND=true ip netns exec "$(ns b)" "$bin" run -c "$work/b.ini" 2>>"$work/b.log" & pb=$!; pids+=($pb)
  sleep 1
  ip netns exec "$(ns cl)" ping -D -n -i 0.01 -W 0.5 -w 5 192.0.2.10 >"$work/ping.log" 2>&1 & pp=$!; pids+=($pp)
  sleep 0.5
  kill -KILL "$pa"; wait "$pa" 2>/dev/null || true
  for d in eth1 eth2 sync0; do ip -n "$(ns a)" link set "$d" down; done
  wait_for 5000 holds b 192.0.2.10
  sleep 0.5
  kill -INT "$pp"; wait "$pp" 2>/dev/null || true
  kill -TERM "$pb"; wait "$pb" 2>/dev/null || true
  gap=$(awk -F'[][]' '/bytes from/ { if (prev) { d = $2 - prev; if (d > m) m = d } prev = $2 } END { printf "%d", m * 1000 }' "$work/ping.log")
  echo "round $round: longest gap ${gap} ms"
  gaps+=("$gap")
done
g=$(printf '%s\n' "${gaps[@]}" | median)
echo "median gap: ${g} ms; the source document's bound (baseline): ${bound} ms; gap/bound: $(awk -v a="$g" -v b="$bound" 'BEGIN { printf "%.2f", a / b }')"

echo "== 3. memory"
FAILOVERCTL_REBOOT_COMMAND=true ip netns exec "$(ns b)" "$bin" run -c "$work/b.ini" 2>>"$work/b.log" & pb=$!; pids+=($pb)
sleep 2
daemon_kb=$(awk '/VmHWM/ { print $2 }' "/proc/$pb/status")
kill -TERM "$pb"; wait "$pb" 2>/dev/null || true
bare_kb=$( { /usr/bin/time -f '%M' "$bin" --version >/dev/null; } 2>&1 || echo 0)
echo "daemon peak RSS: ${daemon_kb} KiB; bare binary (baseline): ${bare_kb} KiB; ratio: $(awk -v a="$daemon_kb" -v b="$bare_kb" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')"

echo "== 4. validation scale (1,000 and 8,000 channels, $rounds rounds)"
channels() { # N: a config of N channels, 5 lines each (over 1,024 it is invalid, still validated)
  awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) { a = int(i / 250); b = i % 250 + 1
    printf "[channel]\ndevice= e%d\nactiveip= 198.18.%d.%d/15\npassiveip= 198.19.%d.%d/15\ntestip= 198.19.255.254\n", i, a, b, a, b } }'
}
channels 1000 > "$work/c1000.ini"; channels 8000 > "$work/c8000.ini"
small=(); large=()
for _ in $(seq "$rounds"); do
  t=$(date +%s%N); "$bin" validate -c "$work/c1000.ini" >/dev/null 2>&1 || true; small+=($(( ($(date +%s%N) - t) / 1000 )))
  t=$(date +%s%N); "$bin" validate -c "$work/c8000.ini" >/dev/null 2>&1 || true; large+=($(( ($(date +%s%N) - t) / 1000 )))
done
s1=$(printf '%s\n' "${small[@]}" | median); s8=$(printf '%s\n' "${large[@]}" | median)
echo "8,000 channels: $(( s8 / 1000 )) ms; 1,000 channels (baseline): $(( s1 / 1000 )) ms; time per channel, 8,000 vs 1,000: $(awk -v a="$s8" -v b="$s1" 'BEGIN { printf "%.2f", (a / 8000) / (b / 1000) }')"

echo "== 5. simulate-timing: 10,000 seeded runs of each role's scenario (CPU, one core)"
# Baseline in the same run: the same command with one run per role (settling, the worst-case
# sweep and the closed form), so the difference is what 20,000 runs cost.
cpu_ms() { /usr/bin/time -f '%U %S' "$@" 2>&1 >/dev/null | awk 'END { printf "%d", ($1 + $2) * 1000 }'; }
one=$(cpu_ms "$bin" simulate-timing --loss 1 --runs 1 --checks 1)
many=$(cpu_ms "$bin" simulate-timing --loss 1 --runs 10000 --checks 1)
echo "runs=10000: ${many} ms; runs=1 (baseline): ${one} ms; per 10,000 runs of one scenario: $(awk -v a="$many" -v b="$one" 'BEGIN { printf "%d ms", (a - b) / 2 }')"

echo "== 6. idle cost over 30 s: failoverctl (checktime 100ms) vs keepalived (unicast advert 0.1 s)"
# CPU ticks (utime + stime, all threads: /proc/PID/stat counts the whole process) of a PID.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss() { awk '/VmRSS/ { print $2 }' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)
idle_secs=30
for d in eth1 eth2 sync0; do ip -n "$(ns a)" link set "$d" up; done
for n in a b; do ip -n "$(ns "$n")" addr del 192.0.2.10/24 dev eth1 2>/dev/null || true; ip -n "$(ns "$n")" addr del 198.51.100.10/24 dev eth2 2>/dev/null || true; done
for node in a b; do
  bash scripts/netlab.sh config "$node" "$work" \
    | sed -e 's/^checktime=.*/checktime= 100ms/' -e 's/^timeout=.*/timeout= 50ms/' > "$work/idle-$node.ini"
done
FAILOVERCTL_REBOOT_COMMAND=true ip netns exec "$(ns a)" "$bin" run -c "$work/idle-a.ini" 2>>"$work/idle-a.log" & fa=$!; pids+=($fa)
wait_for 5000 holds a 192.0.2.10
FAILOVERCTL_REBOOT_COMMAND=true ip netns exec "$(ns b)" "$bin" run -c "$work/idle-b.ini" 2>>"$work/idle-b.log" & fb=$!; pids+=($fb)
sleep 3
f0=$(( $(ticks $fa) + $(ticks $fb) ))
w0=$(awk '/^syscw/ { print $2 }' "/proc/$fa/io")
m0=$(stat -c %Y.%y "$work/a.state" 2>/dev/null || echo none)
sleep "$idle_secs"
f1=$(( $(ticks $fa) + $(ticks $fb) ))
w1=$(awk '/^syscw/ { print $2 }' "/proc/$fa/io")
m1=$(stat -c %Y.%y "$work/a.state" 2>/dev/null || echo none)
frss=$(( $(rss $fa) > $(rss $fb) ? $(rss $fa) : $(rss $fb) ))
kill -TERM "$fa" "$fb"; wait "$fa" 2>/dev/null || true; wait "$fb" 2>/dev/null || true
fms=$(( (f1 - f0) * 1000 / hz ))
# The same pair under keepalived: VRRP over eth1 between a (.11) and b (.12), unicast, 0.1 s adverts
# (VRRPv3: VRRPv2 rounds advert_int 0.1 up to 1 s, which made the baseline 10 times too idle).
for node in a b; do
  if [ "$node" = a ]; then me=11; peer=12; prio=150; else me=12; peer=11; prio=100; fi
  cat > "$work/ka-$node.conf" <<KA
global_defs {
  router_id bench_$node
  vrrp_version 3
  script_user root
  enable_script_security
}
vrrp_instance bench {
  state BACKUP
  interface eth1
  virtual_router_id 51
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
ka_start() {
  ip netns exec "$(ns "$1")" keepalived -n -l -D -f "$work/ka-$1.conf" \
    -p "$work/ka-$1.pid" -r "$work/ka-$1.vrrp.pid" -c "$work/ka-$1.chk.pid" >"$work/ka-$1.log" 2>&1 &
  pids+=($!)
  echo $!
}
ka=$(ka_start a); kb=$(ka_start b)
sleep 3
# keepalived forks: its parent watches a VRRP child; count every process of each instance.
ka_pids() { echo "$ka $kb $(pgrep -P "$ka" || true) $(pgrep -P "$kb" || true)"; }
all_ticks() { local t=0 p; for p in $(ka_pids); do t=$(( t + $(ticks "$p" 2>/dev/null || echo 0) )); done; echo $t; }
k0=$(all_ticks)
sleep "$idle_secs"
k1=$(all_ticks)
krss=0; for p in $(ka_pids); do r=$(rss "$p" 2>/dev/null || echo 0); [ "$r" -gt "$krss" ] && krss=$r; done
for p in $(ka_pids); do kill -TERM "$p" 2>/dev/null || true; done
wait "$ka" 2>/dev/null || true; wait "$kb" 2>/dev/null || true
kms=$(( (k1 - k0) * 1000 / hz ))
echo "failoverctl pair: ${fms} ms CPU in ${idle_secs} s (all threads), RSS ${frss} KiB per node"
echo "keepalived pair (baseline): ${kms} ms CPU in ${idle_secs} s (all processes), RSS ${krss} KiB per process"
echo "CPU ratio failoverctl/keepalived: $(awk -v a="$fms" -v b="$kms" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a (keepalived used 0 ticks)" }')"
echo "idle active: $(( w1 - w0 )) write syscalls in ${idle_secs} s; state file mtime $( [ "$m0" = "$m1" ] && echo unchanged || echo changed)"

# 7. the client's gap per failure against keepalived (also runs alone).
bash scripts/bench_failover.sh "$rounds"
