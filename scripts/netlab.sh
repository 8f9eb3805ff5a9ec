#!/usr/bin/env bash
# The network-namespace lab: two gateway nodes (a, b), a test host (th), a client (cl), one L2 switch
# namespace per channel LAN (s1, s2) and a direct sync link between a and b. Nothing outside the lab's
# own namespaces is touched; only documentation address ranges are used.
#
#   scripts/netlab.sh up   [NAME]    create the lab (NAME defaults to "fl$$"); prints NAME and addresses
#   scripts/netlab.sh down  NAME     remove every namespace of lab NAME
#   scripts/netlab.sh silence   NAME NODE   drop all of NODE's traffic at the switches, carrier stays up
#   scripts/netlab.sh unsilence NAME NODE
#   scripts/netlab.sh loss      NAME PERMYRIAD   drop each frame at every switch port, in and out,
#                                                with this chance in 10,000 (0: no loss)
#   scripts/netlab.sh exec  NAME NODE CMD...   run CMD inside NODE's namespace
#   scripts/netlab.sh ipv6  NAME     add IPv6 to a lab made by `up`: the LANs' 2001:db8 addresses
#                                    below, no duplicate address detection, quiet switches
#   scripts/netlab.sh config NODE DIR [POLICY-LINE...]   print node a's or b's failover.ini for the
#                                    lab (sub-second timing; state and history files under DIR)
#   scripts/netlab.sh up-scale NAME N          a lab of N channels (1 to 64), one segment each, below
#   scripts/netlab.sh config-scale NODE DIR N [POLICY-LINE...]   failover.ini of that lab
#
# Topology (every node sees its interfaces under the same names):
#   LAN 1 (192.0.2.0/24, switch s1):      a eth1 .11, b eth1 .12, th eth1 .1, cl eth1 .100; activeip .10
#   LAN 2 (198.51.100.0/24, switch s2):   a eth2 .11, b eth2 .12, th eth2 .1, cl eth2 .100; activeip .10
#   sync  (203.0.113.0/30, direct veth):  a sync0 .1, b sync0 .2
# With `ipv6`, also (same host numbers, activeip ::10 by convention):
#   LAN 1 2001:db8:1::/64: a ::11, b ::12, th ::1, cl ::100;  LAN 2 2001:db8:2::/64 likewise
#
# The scale lab (up-scale): a, b and th; channel k (1..N) is device cK on each, plugged into its
# own bridge brK in switch s1 (no VLAN module needed), a /29 of 198.51.100.0/24 (k <= 32) or 203.0.113.0/24 (k > 32): th .1,
# a .2, b .3, activeip .4 of the block; the sync link is 192.0.2.0/30 (a .1, b .2).
set -euo pipefail

NODES=(a b th cl)
LAN1=192.0.2
LAN2=198.51.100
SYNC=203.0.113

ns() { printf '%s-%s' "$1" "$2"; }

host_octet() {
  case "$1" in a) echo 11 ;; b) echo 12 ;; th) echo 1 ;; cl) echo 100 ;; esac
}

down() {
  local name=$1 n
  for n in "${NODES[@]}" s1 s2; do
    ip netns del "$(ns "$name" "$n")" 2>/dev/null || true
  done
}

# Connects NODE's interface DEV to switch SW through a veth pair created directly inside the two
# namespaces, so no interface ever appears in the host's namespace.
plug() {
  local name=$1 node=$2 dev=$3 sw=$4
  ip link add "$dev" netns "$(ns "$name" "$node")" type veth peer name "p-$node" netns "$(ns "$name" "$sw")"
  ip -n "$(ns "$name" "$sw")" link set "p-$node" master br0 up
}

up() {
  local name=$1 n lan
  # A half-built lab is removed again, whatever failed.
  trap 'down "$name"' ERR
  for n in "${NODES[@]}" s1 s2; do
    ip netns add "$(ns "$name" "$n")"
    ip -n "$(ns "$name" "$n")" link set lo up
  done
  for sw in s1 s2; do
    ip -n "$(ns "$name" "$sw")" link add br0 type bridge stp_state 0 forward_delay 0
    ip -n "$(ns "$name" "$sw")" link set br0 up
  done
  for n in "${NODES[@]}"; do
    plug "$name" "$n" eth1 s1
    plug "$name" "$n" eth2 s2
    ip -n "$(ns "$name" "$n")" addr add "$LAN1.$(host_octet "$n")/24" dev eth1
    ip -n "$(ns "$name" "$n")" addr add "$LAN2.$(host_octet "$n")/24" dev eth2
    ip -n "$(ns "$name" "$n")" link set eth1 up
    ip -n "$(ns "$name" "$n")" link set eth2 up
  done
  ip link add sync0 netns "$(ns "$name" a)" type veth peer name sync0 netns "$(ns "$name" b)"
  ip -n "$(ns "$name" a)" addr add "$SYNC.1/30" dev sync0
  ip -n "$(ns "$name" b)" addr add "$SYNC.2/30" dev sync0
  ip -n "$(ns "$name" a)" link set sync0 up
  ip -n "$(ns "$name" b)" link set sync0 up
  # Neighbours learn a new owner from gratuitous ARP at once (default locktime is 1 s).
  for n in th cl; do
    for dev in eth1 eth2; do
      ip netns exec "$(ns "$name" "$n")" sysctl -qw "net.ipv4.neigh.$dev.locktime=0"
    done
  done
  trap - ERR
  cat <<OUT
NAME=$name
NS_A=$(ns "$name" a)
NS_B=$(ns "$name" b)
NS_TH=$(ns "$name" th)
NS_CL=$(ns "$name" cl)
LAN1_ACTIVE=$LAN1.10
LAN2_ACTIVE=$LAN2.10
OUT
}

# IPv6 on a lab made by `up` (its default stays IPv4-only): addresses without duplicate address
# detection (a tentative address is unusable for a second: sub-second tests would race it), and
# switches without IPv6 of their own or multicast snooping, so captures hold only the nodes' frames
# and every solicitation reaches every node.
ipv6() {
  local name=$1 n sw dev
  for sw in s1 s2; do
    ip netns exec "$(ns "$name" "$sw")" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    ip -n "$(ns "$name" "$sw")" link set br0 type bridge mcast_snooping 0
  done
  for n in "${NODES[@]}"; do
    for dev in eth1 eth2; do
      ip netns exec "$(ns "$name" "$n")" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=0" \
        "net.ipv6.conf.$dev.accept_dad=0" "net.ipv6.conf.$dev.accept_ra=0"
    done
    ip -n "$(ns "$name" "$n")" addr add "2001:db8:1::$(host_octet "$n")/64" dev eth1 nodad
    ip -n "$(ns "$name" "$n")" addr add "2001:db8:2::$(host_octet "$n")/64" dev eth2 nodad
  done
}

# Drops every frame to and from NODE's switch ports: the node looks hung, its carrier stays up.
silence() {
  local name=$1 node=$2 sw
  for sw in s1 s2; do
    ip netns exec "$(ns "$name" "$sw")" nft -f - <<NFT
table bridge lab_$node {
  chain drop_node { type filter hook forward priority 0; policy accept;
    iifname "p-$node" drop
    oifname "p-$node" drop
  }
}
NFT
  done
}

# Random loss at every switch port, in and out (nftables numgen random), so a frame crossing the
# switch meets two lossy points, as on a provider link. The kernel's generator takes no seed.
loss() {
  local name=$1 bp=$2 sw
  for sw in s1 s2; do
    ip netns exec "$(ns "$name" "$sw")" nft delete table bridge lab_loss 2>/dev/null || true
    if [ "$bp" -gt 0 ]; then
      ip netns exec "$(ns "$name" "$sw")" nft -f - <<NFT
table bridge lab_loss {
  chain forward { type filter hook forward priority -10; policy accept;
    numgen random mod 10000 < $bp counter drop
    numgen random mod 10000 < $bp counter drop
  }
}
NFT
    fi
  done
}

unsilence() {
  local name=$1 node=$2 sw
  for sw in s1 s2; do
    ip netns exec "$(ns "$name" "$sw")" nft delete table bridge "lab_$node" 2>/dev/null || true
  done
}

# The failover.ini of gateway NODE (a or b) in the lab: both LANs as channels with two test hosts
# each, sub-second timing, the peer's sync address; extra [policy] lines from the arguments.
config() {
  local node=$1 dir=$2 own peer line
  shift 2
  own=$([ "$node" = a ] && echo 11 || echo 12)
  peer=$([ "$node" = a ] && echo 2 || echo 1)
  cat <<INI
[channel]
ident= lan1
device= eth1
activeip= $LAN1.10/24
passiveip= $LAN1.$own
testip= $LAN1.1
testip= $LAN1.100

[channel]
ident= lan2
device= eth2
activeip= $LAN2.10/24
passiveip= $LAN2.$own
testip= $LAN2.1
testip= $LAN2.100

[network]
checktime= 200ms
timeout= 100ms
activeretries= 3
channelretries= 3

[sendconfig]
device= sync0
peerip= $SYNC.$peer
; The lab's own key for the peer protocol (never use a published key on real gateways).
key= 6c61622d6f6e6c792d6b65792d6e6f742d666f722d70726f64756374696f6e21

[policy]
garpinterval= 100ms
statefile= $dir/$node.state
historyfile= $dir/$node.history
INI
  for line in "$@"; do printf '%s\n' "$line"; done
}

# Channel K's /29 of the scale lab: "NET OFFSET" (the block's first address is NET.OFFSET).
scale_block() {
  local j=$(( $1 - 1 ))
  if [ "$j" -lt 32 ]; then echo "198.51.100 $(( j * 8 ))"; else echo "203.0.113 $(( (j - 32) * 8 ))"; fi
}

up_scale() {
  local name=$1 count=$2 n k net off own
  [ "$count" -ge 1 ] && [ "$count" -le 64 ] || { echo "netlab.sh: 1 to 64 channels" >&2; exit 2; }
  trap 'down "$name"' ERR
  for n in a b th s1; do
    ip netns add "$(ns "$name" "$n")"
    ip -n "$(ns "$name" "$n")" link set lo up
  done
  # One batch per step: 64 channels cost a handful of ip processes, not hundreds.
  for k in $(seq "$count"); do
    echo "link add br$k type bridge stp_state 0 forward_delay 0"
    echo "link set br$k up"
  done | ip -n "$(ns "$name" s1)" -batch -
  for n in a b th; do
    own=$(case "$n" in th) echo 1 ;; a) echo 2 ;; b) echo 3 ;; esac)
    for k in $(seq "$count"); do
      echo "link add c$k netns $(ns "$name" "$n") type veth peer name p$n$k netns $(ns "$name" s1)"
    done | ip -batch -
    for k in $(seq "$count"); do
      echo "link set p$n$k master br$k up"
    done | ip -n "$(ns "$name" s1)" -batch -
    for k in $(seq "$count"); do
      read -r net off <<<"$(scale_block "$k")"
      echo "addr add $net.$(( off + own ))/29 dev c$k"
      echo "link set c$k up"
    done | ip -n "$(ns "$name" "$n")" -batch -
  done
  for k in $(seq "$count"); do
    echo "net.ipv4.neigh.c$k.locktime=0"
  done | ip netns exec "$(ns "$name" th)" sysctl -q -p - >/dev/null
  ip link add sync0 netns "$(ns "$name" a)" type veth peer name sync0 netns "$(ns "$name" b)"
  ip -n "$(ns "$name" a)" addr add "$LAN1.1/30" dev sync0
  ip -n "$(ns "$name" b)" addr add "$LAN1.2/30" dev sync0
  ip -n "$(ns "$name" a)" link set sync0 up
  ip -n "$(ns "$name" b)" link set sync0 up
  trap - ERR
  echo "NAME=$name"
}

config_scale() {
  local node=$1 dir=$2 count=$3 own peer k net off line
  shift 3
  own=$([ "$node" = a ] && echo 2 || echo 3)
  peer=$([ "$node" = a ] && echo 2 || echo 1)
  for k in $(seq "$count"); do
    read -r net off <<<"$(scale_block "$k")"
    cat <<INI
[channel]
ident= ch$k
device= c$k
activeip= $net.$(( off + 4 ))/29
passiveip= $net.$(( off + own ))
testip= $net.$(( off + 1 ))

INI
  done
  cat <<INI
[network]
checktime= 100ms
timeout= 50ms
activeretries= 3
channelretries= 3

[sendconfig]
device= sync0
peerip= $LAN1.$peer
; The lab's own key for the peer protocol (never use a published key on real gateways).
key= 6c61622d6f6e6c792d6b65792d6e6f742d666f722d70726f64756374696f6e21

[policy]
garpinterval= 100ms
statefile= $dir/$node.state
historyfile= $dir/$node.history
INI
  for line in "$@"; do printf '%s\n' "$line"; done
}

cmd=${1:-}
case "$cmd" in
  up) up "${2:-fl$$}" ;;
  down) down "${2:?usage: netlab.sh down NAME}" ;;
  silence) silence "${2:?NAME}" "${3:?NODE}" ;;
  unsilence) unsilence "${2:?NAME}" "${3:?NODE}" ;;
  loss) loss "${2:?NAME}" "${3:?PERMYRIAD}" ;;
  config) config "${2:?NODE}" "${3:?DIR}" "${@:4}" ;;
  up-scale) up_scale "${2:?NAME}" "${3:?N}" ;;
  config-scale) config_scale "${2:?NODE}" "${3:?DIR}" "${4:?N}" "${@:5}" ;;
  ipv6) ipv6 "${2:?NAME}" ;;
  exec) name=${2:?NAME}; node=${3:?NODE}; shift 3; exec ip netns exec "$(ns "$name" "$node")" "$@" ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2 ;;
esac
