#!/usr/bin/env bash
# Section 10 of scripts/bench.sh (also runs alone): an IPv6 pair against keepalived's IPv6 VRRP in
# the same lab (`netlab.sh ipv6`: 2001:db8:1::/64 on eth1, 2001:db8:2::/64 on eth2, activeips ::10)
# at the same probe rate, as section 8 does for IPv4 (scripts/bench_failover.sh):
#   - the client's longest gap (an ICMPv6 echo every 2 ms, scripts/gap_client.py) for a planned stop
#     (SIGTERM) and the active's eth1 link going down, median and max over ROUNDS;
#   - the idle CPU of the pair over 30 s (utime+stime of every thread of every process,
#     /proc/PID/stat).
# failoverctl: both channels IPv6, peer key, heartbeats every 100 ms, checktime 100ms, timeout 50ms
# (unsolicited NA burst: garpcount 5, 100 ms apart); keepalived: VRRPv3 (IPv6 VRRP is version 3
# only), advert 0.1 s, unicast over the sync link (given 2001:db8:ff::/64 here), priorities
# 254/253, track_interface eth1 eth2, dont_track_primary, the two IPv6 activeips as its virtual
# addresses (keepalived sends unsolicited NAs for them).
#
#   sudo scripts/bench_ipv6.sh [ROUNDS]     (default 3)
#
# Only the lab's namespaces and documentation addresses are used; every process started here is
# ended by PID; the lab is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
idle_secs=${IDLE_SECS:-30}
[ "$(id -u)" -eq 0 ] || { echo "bench_ipv6.sh: needs root" >&2; exit 2; }
if ! command -v keepalived >/dev/null; then
  apt-get install -y keepalived >/dev/null || { echo "cannot install keepalived" >&2; exit 2; }
fi
cargo build --release --quiet
bin=$PWD/target/release/failoverctl
name=b6$$
work=$(mktemp -d)
pids=()
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
holds() { local s; s=$(ip -n "$(ns "$1")" -o -6 addr show); [[ $s == *" $2/"* ]]; }
wait_for() { local end=$(( $(now_ms) + $1 )); shift; until "$@"; do [ "$(now_ms)" -lt "$end" ] || return 1; sleep 0.01; done; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
hz=$(getconf CLK_TCK)
vip=2001:db8:1::10
bash scripts/netlab.sh up "$name" >/dev/null
bash scripts/netlab.sh ipv6 "$name"
ip -n "$(ns a)" addr add 2001:db8:ff::1/64 dev sync0 nodad
ip -n "$(ns b)" addr add 2001:db8:ff::2/64 dev sync0 nodad

for node in a b; do
  bash scripts/netlab.sh config "$node" "$work" "onfailure= demote" \
    | sed -e 's/^checktime= .*/checktime= 100ms/' -e 's/^timeout= .*/timeout= 50ms/' \
          -e 's/^channelretries= 3/channelretries= 3\nsynctime= 100ms/' \
          -e 's#198\.51\.100\.10/24#2001:db8:2::10/64#' -e 's/198\.51\.100\./2001:db8:2::/g' \
          -e 's#192\.0\.2\.10/24#2001:db8:1::10/64#' -e 's/192\.0\.2\./2001:db8:1::/g' > "$work/$node.ini"
  if [ "$node" = a ]; then me=1; peer=2; prio=254; else me=2; peer=1; prio=253; fi
  cat > "$work/ka-$node.conf" <<KA
global_defs {
  router_id b6_$node
  vrrp_version 3
}
vrrp_instance b6 {
  state BACKUP
  interface sync0
  virtual_router_id 53
  priority $prio
  advert_int 0.1
  unicast_src_ip 2001:db8:ff::$me
  unicast_peer {
    2001:db8:ff::$peer
  }
  dont_track_primary
  track_interface {
    eth1
    eth2
  }
  virtual_ipaddress {
    2001:db8:1::10/64 dev eth1
    2001:db8:2::10/64 dev eth2
  }
}
KA
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
  for n in a b; do
    for d in eth1 eth2 sync0; do ip -n "$(ns "$n")" link set "$d" up; done
    ip -n "$(ns "$n")" addr del 2001:db8:1::10/64 dev eth1 2>/dev/null || true
    ip -n "$(ns "$n")" addr del 2001:db8:2::10/64 dev eth2 2>/dev/null || true
  done
  # A link that went down lost its IPv6 addresses (keep_addr_on_down=0): the lab's are put back.
  for n in a b; do
    local o; o=$([ "$n" = a ] && echo 11 || echo 12)
    ip -n "$(ns "$n")" addr replace "2001:db8:1::$o/64" dev eth1 nodad
    ip -n "$(ns "$n")" addr replace "2001:db8:2::$o/64" dev eth2 nodad
  done
}
stop_pid() {
  local p i
  for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
  for i in $(seq 100); do
    local alive=0; for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 1 ] || break; sleep 0.02
  done
  for p in "$@"; do kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  for c in a b; do p=$(ka_child "$c"); [ -z "$p" ] || kill -KILL "$p" 2>/dev/null || true; done
}
fault() { # IMPL FAILURE PID_A
  case "$2" in
    stop) kill -TERM "$3" ;;
    link) ip -n "$(ns a)" link set eth1 down ;;
  esac
}
# Every process of a keepalived instance (its parent and the VRRP child).
all_ticks() { local t=0 p; for p in "$@"; do t=$(( t + $(ticks "$p") )); done; echo $t; }

failures=(stop link)
declare -A med mx idle
for impl in f k; do
  for fl in "${failures[@]}"; do
    gaps=()
    for round in $(seq "$rounds"); do
      reset_lab
      rm -f "$work"/ka-*.pid
      pa=$(start "$impl" a); pids+=("$pa")
      wait_for 5000 holds a $vip || true
      pb=$(start "$impl" b); pids+=("$pb")
      sleep 0.7
      ip netns exec "$(ns cl)" python3 scripts/gap_client.py $vip 0.002 2500 >"$work/ping.log" 2>&1 & pp=$!; pids+=("$pp")
      sleep 0.5
      fault "$impl" "$fl" "$pa"
      wait_for 1500 holds b $vip || true
      sleep 0.4
      end=$(date +%s.%N)
      kill -TERM "$pp" 2>/dev/null || true; wait "$pp" 2>/dev/null || true
      gap=$(awk -F'[][]' -v end="$end" '/reply from/ { if (prev) { d = $2 - prev; if (d > m) m = d } prev = $2 } END { if (prev && end - prev > m) m = end - prev; printf "%d", m * 1000 }' "$work/ping.log")
      [ -s "$work/ping.log" ] && grep -q "reply from" "$work/ping.log" || gap=5000
      echo "$impl $fl round $round: gap ${gap} ms" >&2
      gaps+=("$gap")
      stop_pid "$pa" "$pb"
      pids=()
    done
    sorted=$(printf '%s\n' "${gaps[@]}" | sort -n)
    med[$impl.$fl]=$(echo "$sorted" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
    mx[$impl.$fl]=$(echo "$sorted" | tail -1)
  done
  # Idle: the pair settled, then CPU over idle_secs.
  reset_lab
  rm -f "$work"/ka-*.pid
  pa=$(start "$impl" a); pids+=("$pa")
  wait_for 5000 holds a $vip || true
  pb=$(start "$impl" b); pids+=("$pb")
  sleep 3
  procs="$pa $pb"
  [ "$impl" = k ] && procs="$procs $(ka_child a) $(ka_child b)"
  # shellcheck disable=SC2086
  t0=$(all_ticks $procs)
  sleep "$idle_secs"
  # shellcheck disable=SC2086
  t1=$(all_ticks $procs)
  idle[$impl]=$(( (t1 - t0) * 1000 / hz ))
  holds a $vip || echo "$impl idle: a lost the activeip" >&2
  stop_pid "$pa" "$pb"
  pids=()
done
reset_lab

echo "== 10. IPv6: failoverctl (IPv6 channels, checktime 100ms, timeout 50ms, synctime 100ms, NA burst) vs keepalived IPv6 VRRP (VRRPv3 unicast on the sync link, advert 0.1 s, 254/253, track_interface); client: an ICMPv6 echo every 2 ms; $rounds rounds"
echo "| measure | failoverctl | keepalived | ratio |"
echo "| --- | --- | --- | --- |"
for fl in "${failures[@]}"; do
  r=$(awk -v a="${med[f.$fl]}" -v b="${med[k.$fl]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
  l=$([ "$fl" = stop ] && echo "planned stop (SIGTERM), gap median / max" || echo "active's eth1 down, gap median / max")
  echo "| $l | ${med[f.$fl]} / ${mx[f.$fl]} ms | ${med[k.$fl]} / ${mx[k.$fl]} ms | $r |"
done
r=$(awk -v a="${idle[f]}" -v b="${idle[k]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
echo "| idle CPU of the pair over ${idle_secs} s (all threads) | ${idle[f]} ms | ${idle[k]} ms | $r |"
