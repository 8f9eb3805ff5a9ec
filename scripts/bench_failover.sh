#!/usr/bin/env bash
# Section 7 of scripts/bench.sh (also runs alone): the client's gap per failure, failoverctl (peer
# key, heartbeats every 100ms, checktime 100ms / timeout 50ms) against keepalived in its fastest form
# in the same lab at the same probe rate: VRRPv3 (VRRPv2 rounds advert_int 0.1 up to 1 s), unicast
# over the sync link (dont_track_primary), advert 0.1 s, priorities 254/253 (skew time 1 ms),
# track_interface eth1 eth2.
# Per failure and implementation: median and max of the client's longest gap over ROUNDS (a client
# sending an echo every 2 ms whatever is lost (scripts/gap_client.py), bounded count; the silence
# after its last reply counts), whether 192.0.2.10
# was left on both nodes, who serves at the end, and failoverctl/keepalived.
#
#   sudo scripts/bench_failover.sh [ROUNDS]     (default 5)
#
# keepalived has no handover command: its planned switchover is the priority-0 advert of a stop, so
# its "handover" row is a SIGTERM. "Killed" and "power off" kill every keepalived process of node a
# (the parent is stopped first so that it cannot respawn its VRRP child). Only the lab's namespaces
# and documentation addresses are used; every process started here is ended by PID; the lab is
# removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
[ "$(id -u)" -eq 0 ] || { echo "bench_failover.sh: needs root" >&2; exit 2; }
if ! command -v keepalived >/dev/null; then
  apt-get install -y keepalived >/dev/null || { echo "cannot install keepalived" >&2; exit 2; }
fi
cargo build --release --quiet
bin=$PWD/target/release/failoverctl
name=bf$$
work=$(mktemp -d)
pids=()
# keepalived's VRRP child (its pid file) is ours too: killed by PID once its command line shows
# this run's configuration, so a stale pid file never hits a stranger.
ka_child() { local f=$work/ka-$1.vrrp.pid p; [ -s "$f" ] || return 0; p=$(cat "$f")
  [[ $p =~ ^[0-9]+$ ]] && [ -r "/proc/$p/cmdline" ] && tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -qF "$work/ka-$1.conf" && echo "$p"; true; }
cleanup() {
  local p c
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for c in a b; do p=$(ka_child "$c"); [ -z "$p" ] || kill -KILL "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  bash scripts/netlab.sh down "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
ns() { printf '%s-%s' "$name" "$1"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
holds() { local s; s=$(ip -n "$(ns "$1")" -o -4 addr show); [[ $s == *" $2/"* ]]; }  # not grep -q: with pipefail its early exit fails the pipe
# Serving: holds the address on eth1 with its carrier up (a powered-off node's down link keeps the
# address configured but answers nobody).
serves() { local l; l=$(ip -n "$(ns "$1")" link show eth1); [[ $l == *LOWER_UP* ]] && holds "$1" "$2"; }
wait_for() { local end=$(( $(now_ms) + $1 )); shift; until "$@"; do [ "$(now_ms)" -lt "$end" ] || return 1; sleep 0.01; done; }
bash scripts/netlab.sh up "$name" >/dev/null

for node in a b; do
  bash scripts/netlab.sh config "$node" "$work" "onfailure= demote" \
    | sed -e 's/^checktime= .*/checktime= 100ms/' -e 's/^timeout= .*/timeout= 50ms/' \
          -e 's/^channelretries= 3/channelretries= 3\nsynctime= 100ms/' > "$work/$node.ini"
  # 254/253: the backup's skew time after a priority-0 advert is (256 - 253) / 256 x 0.1 s.
  if [ "$node" = a ]; then me=1; peer=2; prio=254; else me=2; peer=1; prio=253; fi
  cat > "$work/ka-$node.conf" <<KA
global_defs {
  router_id bf_$node
  vrrp_version 3
}
vrrp_instance bf {
  state BACKUP
  interface sync0
  virtual_router_id 52
  priority $prio
  advert_int 0.1
  unicast_src_ip 203.0.113.$me
  unicast_peer {
    203.0.113.$peer
  }
  # The sync link is a direct cable: the peer's power off takes its carrier away, which must not
  # put this node in FAULT (it is the one that has to take over).
  dont_track_primary
  track_interface {
    eth1
    eth2
  }
  virtual_ipaddress {
    192.0.2.10/24 dev eth1
    198.51.100.10/24 dev eth2
  }
}
KA
  grep -q 'vrrp_version 3' "$work/ka-$node.conf"
done

start() { # IMPL NODE: prints the daemon's pid
  if [ "$1" = f ]; then
    FAILOVERCTL_REBOOT_COMMAND=true ip netns exec "$(ns "$2")" "$bin" run -c "$work/$2.ini" >/dev/null 2>>"$work/f-$2.log" &
  else
    ip netns exec "$(ns "$2")" keepalived -n -l -D -f "$work/ka-$2.conf" -p "$work/ka-$2.pid" \
      -r "$work/ka-$2.vrrp.pid" -c "$work/ka-$2.chk.pid" >>"$work/k-$2.log" 2>&1 &
  fi
  echo $!
}
reset_lab() {
  bash scripts/netlab.sh unsilence "$name" a >/dev/null 2>&1 || true
  ip netns exec "$(ns a)" nft delete table inet hung 2>/dev/null || true
  for n in a b; do
    for d in eth1 eth2 sync0; do ip -n "$(ns "$n")" link set "$d" up; done
    ip -n "$(ns "$n")" addr del 192.0.2.10/24 dev eth1 2>/dev/null || true
    ip -n "$(ns "$n")" addr del 198.51.100.10/24 dev eth2 2>/dev/null || true
  done
}
# Kills every process of node a's daemon at once: failoverctl is one process; keepalived's parent is
# stopped first (so it cannot respawn), then it and its VRRP child are killed.
kill_all() {
  if [ "$1" = f ]; then kill -KILL "$2"; return; fi
  local c; c=$(ka_child a)
  kill -STOP "$2"; kill -KILL ${c:+"$c"} "$2"
}
# SIGTERM to every PID at once (keepalived takes about a second to stop), SIGKILL after 2 s.
stop_pid() {
  local p i
  for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
  for i in $(seq 100); do
    local alive=0; for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 1 ] || break; sleep 0.02
  done
  for p in "$@"; do kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
}

fault() { # IMPL FAILURE PID_A
  case "$2" in
    stop) kill -TERM "$3" ;;
    handover)
      if [ "$1" = f ]; then ip netns exec "$(ns a)" "$bin" handover -c "$work/a.ini" --timeout 2s >/dev/null || true
      else kill -TERM "$3"; fi ;;
    link) ip -n "$(ns a)" link set eth1 down ;;
    power) kill_all "$1" "$3"; for d in eth1 eth2 sync0; do ip -n "$(ns a)" link set "$d" down; done ;;
    silent)
      bash scripts/netlab.sh silence "$name" a
      ip netns exec "$(ns a)" nft -f - <<'NFT'
table inet hung {
  chain i {
    type filter hook input priority 0; policy accept;
    iifname "sync0" drop
  }
  chain o {
    type filter hook output priority 0; policy accept;
    oifname "sync0" drop
  }
}
NFT
      ;;
    killed) kill_all "$1" "$3" ;;
  esac
}

failures=(stop handover link power silent killed)
declare -A med mx both who
for impl in f k; do
  for fl in "${failures[@]}"; do
    gaps=(); b2=0; serving=""
    for round in $(seq "$rounds"); do
      reset_lab
      rm -f "$work"/ka-*.pid
      pa=$(start "$impl" a); pids+=("$pa")
      wait_for 5000 holds a 192.0.2.10 || true
      pb=$(start "$impl" b); pids+=("$pb")
      sleep 0.7
      # A fixed-rate client (iputils ping pauses 10 ms after an unanswered echo below a 10 ms
      # interval): every 2 ms, at most 2,500 echoes (5 s; the round ends it after about 3 s).
      ip netns exec "$(ns cl)" python3 scripts/gap_client.py 192.0.2.10 0.002 2500 >"$work/ping.log" 2>&1 & pp=$!; pids+=("$pp")
      sleep 0.5
      fault "$impl" "$fl" "$pa"
      # Expected end state: b serves (killed alone: a may keep serving); give it time either way.
      wait_for 1500 holds b 192.0.2.10 || true
      sleep 0.4
      end=$(date +%s.%N)
      kill -TERM "$pp" 2>/dev/null || true; wait "$pp" 2>/dev/null || true
      # The silence after the last reply counts too: a failure nobody recovers from is a long gap.
      gap=$(awk -F'[][]' -v end="$end" '/reply from/ { if (prev) { d = $2 - prev; if (d > m) m = d } prev = $2 } END { if (prev && end - prev > m) m = end - prev; printf "%d", m * 1000 }' "$work/ping.log")
      [ -s "$work/ping.log" ] && grep -q "reply from" "$work/ping.log" || gap=5000
      ha=no; hb=no
      serves a 192.0.2.10 && ha=yes; serves b 192.0.2.10 && hb=yes
      [ "$ha$hb" = yesyes ] && b2=$((b2 + 1))
      s=$( [ $ha = yes ] && printf a; [ $hb = yes ] && printf b; true); serving="$serving ${s:-none}"
      echo "$impl $fl round $round: gap ${gap} ms, a serves $ha, b serves $hb" >&2
      gaps+=("$gap")
      stop_pid "$pa" "$pb"
      # All reaped: forget them, so that the trap never signals a recycled PID.
      pids=()
    done
    sorted=$(printf '%s\n' "${gaps[@]}" | sort -n)
    med[$impl.$fl]=$(echo "$sorted" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
    mx[$impl.$fl]=$(echo "$sorted" | tail -1)
    both[$impl.$fl]=$b2
    who[$impl.$fl]=$(echo $serving | tr ' ' '\n' | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 }')
  done
done
reset_lab

label() { case $1 in stop) echo "planned stop (SIGTERM)";; handover) echo "handover (keepalived: SIGTERM, priority 0)";;
  link) echo "active's link down";; power) echo "power off (daemon killed, all links down)";;
  silent) echo "silent, carrier up";; killed) echo "daemon killed alone";; esac; }
echo "== 8. client's gap per failure, $rounds rounds: failoverctl (peer key, checktime 100ms, timeout 50ms, synctime 100ms) vs keepalived (VRRPv3 unicast on the sync link, advert 0.1 s, priorities 254/253, track_interface, dont_track_primary); fixed-rate client, an echo every 2 ms"
echo "| failure | failoverctl median / max | keepalived median / max | ratio (medians) | address served by both nodes (f / k, of $rounds) | serving at the end (f / k) |"
echo "| --- | --- | --- | --- | --- | --- |"
for fl in "${failures[@]}"; do
  r=$(awk -v a="${med[f.$fl]}" -v b="${med[k.$fl]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
  echo "| $(label "$fl") | ${med[f.$fl]} / ${mx[f.$fl]} ms | ${med[k.$fl]} / ${mx[k.$fl]} ms | $r | ${both[f.$fl]} / ${both[k.$fl]} | ${who[f.$fl]} / ${who[k.$fl]} |"
done
