# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_failoverctl_global_optspecs
    string join \n h/help V/version
end

function __fish_failoverctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_failoverctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_failoverctl_using_subcommand
    set -l cmd (__fish_failoverctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c failoverctl -n "__fish_failoverctl_needs_command" -s h -l help -d 'Print help'
complete -c failoverctl -n "__fish_failoverctl_needs_command" -s V -l version -d 'Print version'
complete -c failoverctl -n "__fish_failoverctl_needs_command" -f -a "validate" -d 'Check a failover.ini: syntax, keys, values and consistency; print channels and downtime bounds'
complete -c failoverctl -n "__fish_failoverctl_needs_command" -f -a "probe" -d 'Send ICMP echo to each channel\'s test hosts out of the channel\'s device'
complete -c failoverctl -n "__fish_failoverctl_needs_command" -f -a "arp-check" -d 'The passive node\'s check: does the active answer ARP for each activeip?'
complete -c failoverctl -n "__fish_failoverctl_needs_command" -f -a "watch-counters" -d 'Sample rx/tx packet counters and apply the checkonlyidle rule'
complete -c failoverctl -n "__fish_failoverctl_needs_command" -f -a "peer-check" -d 'Ask the peer over the sync link whether it reaches each channel\'s test hosts'
complete -c failoverctl -n "__fish_failoverctl_needs_command" -f -a "run-active" -d 'Run the active node\'s monitor and its failure action'
complete -c failoverctl -n "__fish_failoverctl_needs_command" -f -a "run-passive" -d 'Run the passive node\'s monitor and take over when the active is gone'
complete -c failoverctl -n "__fish_failoverctl_needs_command" -f -a "run" -d 'The service entry point: start passive, take over, monitor as active, demote back to passive'
complete -c failoverctl -n "__fish_failoverctl_needs_command" -f -a "simulate-timing" -d 'Compute (and simulate) the failover timing bounds of a config'
complete -c failoverctl -n "__fish_failoverctl_needs_command" -f -a "example-config" -d 'Print an annotated example failover.ini with every key, its default and its origin'
complete -c failoverctl -n "__fish_failoverctl_needs_command" -f -a "status" -d 'Show the running daemon\'s role, counters and last decisions'
complete -c failoverctl -n "__fish_failoverctl_needs_command" -f -a "keygen" -d 'Write a new random peer key (mode 0600) for `[sendconfig] keyfile`'
complete -c failoverctl -n "__fish_failoverctl_needs_command" -f -a "handover" -d 'Planned switchover: the running daemons swap roles in one exchange over the sync link'
complete -c failoverctl -n "__fish_failoverctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand validate" -s c -l config -d 'Configuration file (`-` reads standard input)' -r -F
complete -c failoverctl -n "__fish_failoverctl_using_subcommand validate" -l json -d 'Machine-readable JSON output'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand validate" -l strict -d 'Treat warnings as errors (exit 1)'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand validate" -l check-host -d 'Also check, read-only, that each device exists on this host and holds the channel\'s activeip or passiveip'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand validate" -s h -l help -d 'Print help'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand validate" -s V -l version -d 'Print version'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand probe" -s c -l config -d 'Configuration file (`-` reads standard input): probes every channel\'s testips' -r -F
complete -c failoverctl -n "__fish_failoverctl_using_subcommand probe" -l device -d 'Probe out of this device instead of a config\'s channels' -r
complete -c failoverctl -n "__fish_failoverctl_using_subcommand probe" -l source -d 'Source address (with `--device`); default: the kernel\'s choice for the device' -r
complete -c failoverctl -n "__fish_failoverctl_using_subcommand probe" -l timeout -d 'How long to wait for the replies of one round, 1ms to 1m (seconds or a value like `300ms`) [default: the config\'s timeout, or 1s]' -r
complete -c failoverctl -n "__fish_failoverctl_using_subcommand probe" -l count -d 'Rounds to send; a target is reached when any round got its reply' -r
complete -c failoverctl -n "__fish_failoverctl_using_subcommand probe" -l interval -d 'Time from the start of one round to the start of the next (1ms to 1m)' -r
complete -c failoverctl -n "__fish_failoverctl_using_subcommand probe" -l json -d 'Machine-readable JSON output'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand probe" -s h -l help -d 'Print help'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand probe" -s V -l version -d 'Print version'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand arp-check" -s c -l config -d 'Configuration file (`-` reads standard input): checks every channel\'s activeip' -r -F
complete -c failoverctl -n "__fish_failoverctl_using_subcommand arp-check" -l device -d 'Check out of this device instead of a config\'s channels' -r
complete -c failoverctl -n "__fish_failoverctl_using_subcommand arp-check" -l method -d 'table: the source document\'s neighbour-table check; raw: ARP request and reply (Neighbour Solicitation and Advertisement for IPv6) directly' -r -f -a "table\t'Delete the neighbour entry, send a UDP datagram, read the kernel\'s table (needs CAP_NET_ADMIN)'
raw\t'Send an ARP request (a Neighbour Solicitation for IPv6) and read the reply directly, touching no kernel table (needs CAP_NET_RAW)'"
complete -c failoverctl -n "__fish_failoverctl_using_subcommand arp-check" -l timeout -d 'How long to wait for the answers, 1ms to 1m (seconds or a value like `300ms`) [default: the config\'s timeout, or 1s]' -r
complete -c failoverctl -n "__fish_failoverctl_using_subcommand arp-check" -l json -d 'Machine-readable JSON output'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand arp-check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand arp-check" -s V -l version -d 'Print version'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand watch-counters" -s c -l config -d 'Configuration file (`-` reads standard input): watches every channel\'s device' -r -F
complete -c failoverctl -n "__fish_failoverctl_using_subcommand watch-counters" -l interval -d 'Length of one interval, 1ms to 1m (the config\'s checktime plays this role in the daemon)' -r
complete -c failoverctl -n "__fish_failoverctl_using_subcommand watch-counters" -l count -d 'Stop after this many intervals (default: until Ctrl-C)' -r
complete -c failoverctl -n "__fish_failoverctl_using_subcommand watch-counters" -l json -d 'One JSON object per interval and line (JSON Lines)'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand watch-counters" -s h -l help -d 'Print help'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand watch-counters" -s V -l version -d 'Print version'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand peer-check" -s c -l config -d 'Configuration file: `[sendconfig] device`, `peerip`, `port` and `key`/`keyfile`, and the channels whose test hosts the peer is asked about' -r -F
complete -c failoverctl -n "__fish_failoverctl_using_subcommand peer-check" -l channel -d 'Ask about this channel only (its `ident`)' -r
complete -c failoverctl -n "__fish_failoverctl_using_subcommand peer-check" -l timeout -d 'How long to wait for each answer, 1ms to 1m (seconds or a value like `300ms`); the peer probes for three quarters of it, at most 2s [default: the config\'s timeout]' -r
complete -c failoverctl -n "__fish_failoverctl_using_subcommand peer-check" -l json -d 'Machine-readable JSON output'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand peer-check" -s h -l help -d 'Print help'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand peer-check" -s V -l version -d 'Print version'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand run-active" -s c -l config -d 'Configuration file' -r -F
complete -c failoverctl -n "__fish_failoverctl_using_subcommand run-active" -l arp-method -d 'How the passive checks the active: the source document\'s neighbour-table method, or raw ARP (polling the MAC that answered last). Default: `[policy] arpcheck` (table in classic mode, raw in improved mode)' -r -f -a "table\t'Delete the neighbour entry, send a UDP datagram, read the kernel\'s table (needs CAP_NET_ADMIN)'
raw\t'Send an ARP request (a Neighbour Solicitation for IPv6) and read the reply directly, touching no kernel table (needs CAP_NET_RAW)'"
complete -c failoverctl -n "__fish_failoverctl_using_subcommand run-active" -l state-file -d 'Write the state for `failoverctl status` here instead of `[policy] statefile`' -r -F
complete -c failoverctl -n "__fish_failoverctl_using_subcommand run-active" -l dry-run -d 'Log what would be done and change nothing: no address, hook, history or kernel table is touched (the ARP check uses raw frames)'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand run-active" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand run-active" -s V -l version -d 'Print version'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand run-passive" -s c -l config -d 'Configuration file' -r -F
complete -c failoverctl -n "__fish_failoverctl_using_subcommand run-passive" -l arp-method -d 'How the passive checks the active: the source document\'s neighbour-table method, or raw ARP (polling the MAC that answered last). Default: `[policy] arpcheck` (table in classic mode, raw in improved mode)' -r -f -a "table\t'Delete the neighbour entry, send a UDP datagram, read the kernel\'s table (needs CAP_NET_ADMIN)'
raw\t'Send an ARP request (a Neighbour Solicitation for IPv6) and read the reply directly, touching no kernel table (needs CAP_NET_RAW)'"
complete -c failoverctl -n "__fish_failoverctl_using_subcommand run-passive" -l state-file -d 'Write the state for `failoverctl status` here instead of `[policy] statefile`' -r -F
complete -c failoverctl -n "__fish_failoverctl_using_subcommand run-passive" -l dry-run -d 'Log what would be done and change nothing: no address, hook, history or kernel table is touched (the ARP check uses raw frames)'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand run-passive" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand run-passive" -s V -l version -d 'Print version'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand run" -s c -l config -d 'Configuration file' -r -F
complete -c failoverctl -n "__fish_failoverctl_using_subcommand run" -l arp-method -d 'How the passive checks the active: the source document\'s neighbour-table method, or raw ARP (polling the MAC that answered last). Default: `[policy] arpcheck` (table in classic mode, raw in improved mode)' -r -f -a "table\t'Delete the neighbour entry, send a UDP datagram, read the kernel\'s table (needs CAP_NET_ADMIN)'
raw\t'Send an ARP request (a Neighbour Solicitation for IPv6) and read the reply directly, touching no kernel table (needs CAP_NET_RAW)'"
complete -c failoverctl -n "__fish_failoverctl_using_subcommand run" -l state-file -d 'Write the state for `failoverctl status` here instead of `[policy] statefile`' -r -F
complete -c failoverctl -n "__fish_failoverctl_using_subcommand run" -l dry-run -d 'Log what would be done and change nothing: no address, hook, history or kernel table is touched (the ARP check uses raw frames)'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand run" -s V -l version -d 'Print version'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand simulate-timing" -s c -l config -d 'Configuration file (`-` reads standard input); without it, the built-in example: the source document\'s timing (checktime 10, timeout 2, activeretries 3, channelretries 3)' -r -F
complete -c failoverctl -n "__fish_failoverctl_using_subcommand simulate-timing" -l shutdown-delay -d 'Interface shutdown delay after the reboot starts, overriding `[policy] shutdowndelay` (0 to 1h: seconds or a value like `30s`, `1m 30s`)' -r
complete -c failoverctl -n "__fish_failoverctl_using_subcommand simulate-timing" -l loss -d 'Packet loss in percent (0 to 100, e.g. `0.1`), each packet lost independently: adds each role\'s expected false failovers per year (closed form, checked by a seeded simulation of the core) and the detection-time percentiles under that loss' -r
complete -c failoverctl -n "__fish_failoverctl_using_subcommand simulate-timing" -l jitter -d 'With `--loss` or `--tune`: each packet is also delayed by up to DUR (uniform); a reply later than `timeout` counts as lost' -r
complete -c failoverctl -n "__fish_failoverctl_using_subcommand simulate-timing" -l seed -d 'Seed of the simulated loss (the same seed gives the same figures)' -r
complete -c failoverctl -n "__fish_failoverctl_using_subcommand simulate-timing" -l runs -d 'With `--loss`: seeded scenario runs per role for the detection percentiles' -r
complete -c failoverctl -n "__fish_failoverctl_using_subcommand simulate-timing" -l checks -d 'With `--loss`: checks simulated per role for the false-failover estimate' -r
complete -c failoverctl -n "__fish_failoverctl_using_subcommand simulate-timing" -l detect -d 'With `--tune`: the detection bound both roles must meet' -r
complete -c failoverctl -n "__fish_failoverctl_using_subcommand simulate-timing" -l max-false-per-year -d 'With `--tune`: the false failovers per year allowed for each role' -r
complete -c failoverctl -n "__fish_failoverctl_using_subcommand simulate-timing" -l min-timeout -d 'With `--tune`: the shortest timeout considered (a healthy round trip must fit; default 50ms)' -r
complete -c failoverctl -n "__fish_failoverctl_using_subcommand simulate-timing" -l plot -d 'Write an SVG: a timeline of each scenario\'s worst case and, with `--loss`, detection time against false failovers per year as checktime varies. `-` writes the SVG alone to standard output' -r -F
complete -c failoverctl -n "__fish_failoverctl_using_subcommand simulate-timing" -l matrix-runs -d 'With `--matrix`: seeded runs per cell' -r
complete -c failoverctl -n "__fish_failoverctl_using_subcommand simulate-timing" -l json -d 'Machine-readable JSON output'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand simulate-timing" -l tune -d 'Print the `[network]` timing (checktime, timeout, activeretries, channelretries) that detects within `--detect` with at most `--max-false-per-year` false failovers per role at `--loss` (default 1%), with the least probing; exit 1 naming the conflicting bounds when none does'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand simulate-timing" -l table -d 'Print the README\'s table of common settings (detection bound, false failovers per year at 0.1%, 1% and 5% loss) as Markdown'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand simulate-timing" -l matrix -d 'The safety matrix: every fault (active link down, power off, silent, ...) × {classic, improved} × {no peer key, peer key} × {no loss, 1% loss}, seeded runs at random phases on the real decision cores, and the runs that broke each invariant I1-I4 (see the README); exit 1 when a cell of the improved policy breaks one'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand simulate-timing" -s h -l help -d 'Print help'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand simulate-timing" -s V -l version -d 'Print version'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand example-config" -s h -l help -d 'Print help'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand example-config" -s V -l version -d 'Print version'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand status" -s c -l config -d 'Configuration file: its `[policy] statefile` names the state file' -r -F
complete -c failoverctl -n "__fish_failoverctl_using_subcommand status" -l state-file -d 'Read this state file instead (as given to the daemon\'s `--state-file`)' -r -F
complete -c failoverctl -n "__fish_failoverctl_using_subcommand status" -l last -d 'How many recent decisions to show' -r
complete -c failoverctl -n "__fish_failoverctl_using_subcommand status" -l json -d 'Machine-readable JSON output: the state file plus `"running"`'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand status" -s h -l help -d 'Print help'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand status" -s V -l version -d 'Print version'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand keygen" -s o -l out -d 'Where to write the key (mode 0600); `-` prints it on standard output (for `key=`)' -r -F
complete -c failoverctl -n "__fish_failoverctl_using_subcommand keygen" -l force -d 'Replace an existing key file (the peer needs the new key too)'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand keygen" -s h -l help -d 'Print help'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand keygen" -s V -l version -d 'Print version'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand handover" -s c -l config -d 'Configuration file: its `[policy] statefile` locates the daemon\'s control socket' -r -F
complete -c failoverctl -n "__fish_failoverctl_using_subcommand handover" -l state-file -d 'The daemon\'s state file, when it was started with `--state-file`' -r -F
complete -c failoverctl -n "__fish_failoverctl_using_subcommand handover" -l timeout -d 'How long the whole exchange may take before it counts as failed' -r
complete -c failoverctl -n "__fish_failoverctl_using_subcommand handover" -l json -d 'Machine-readable JSON output'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand handover" -s h -l help -d 'Print help'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand handover" -s V -l version -d 'Print version'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand help; and not __fish_seen_subcommand_from validate probe arp-check watch-counters peer-check run-active run-passive run simulate-timing example-config status keygen handover help" -f -a "validate" -d 'Check a failover.ini: syntax, keys, values and consistency; print channels and downtime bounds'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand help; and not __fish_seen_subcommand_from validate probe arp-check watch-counters peer-check run-active run-passive run simulate-timing example-config status keygen handover help" -f -a "probe" -d 'Send ICMP echo to each channel\'s test hosts out of the channel\'s device'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand help; and not __fish_seen_subcommand_from validate probe arp-check watch-counters peer-check run-active run-passive run simulate-timing example-config status keygen handover help" -f -a "arp-check" -d 'The passive node\'s check: does the active answer ARP for each activeip?'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand help; and not __fish_seen_subcommand_from validate probe arp-check watch-counters peer-check run-active run-passive run simulate-timing example-config status keygen handover help" -f -a "watch-counters" -d 'Sample rx/tx packet counters and apply the checkonlyidle rule'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand help; and not __fish_seen_subcommand_from validate probe arp-check watch-counters peer-check run-active run-passive run simulate-timing example-config status keygen handover help" -f -a "peer-check" -d 'Ask the peer over the sync link whether it reaches each channel\'s test hosts'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand help; and not __fish_seen_subcommand_from validate probe arp-check watch-counters peer-check run-active run-passive run simulate-timing example-config status keygen handover help" -f -a "run-active" -d 'Run the active node\'s monitor and its failure action'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand help; and not __fish_seen_subcommand_from validate probe arp-check watch-counters peer-check run-active run-passive run simulate-timing example-config status keygen handover help" -f -a "run-passive" -d 'Run the passive node\'s monitor and take over when the active is gone'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand help; and not __fish_seen_subcommand_from validate probe arp-check watch-counters peer-check run-active run-passive run simulate-timing example-config status keygen handover help" -f -a "run" -d 'The service entry point: start passive, take over, monitor as active, demote back to passive'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand help; and not __fish_seen_subcommand_from validate probe arp-check watch-counters peer-check run-active run-passive run simulate-timing example-config status keygen handover help" -f -a "simulate-timing" -d 'Compute (and simulate) the failover timing bounds of a config'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand help; and not __fish_seen_subcommand_from validate probe arp-check watch-counters peer-check run-active run-passive run simulate-timing example-config status keygen handover help" -f -a "example-config" -d 'Print an annotated example failover.ini with every key, its default and its origin'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand help; and not __fish_seen_subcommand_from validate probe arp-check watch-counters peer-check run-active run-passive run simulate-timing example-config status keygen handover help" -f -a "status" -d 'Show the running daemon\'s role, counters and last decisions'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand help; and not __fish_seen_subcommand_from validate probe arp-check watch-counters peer-check run-active run-passive run simulate-timing example-config status keygen handover help" -f -a "keygen" -d 'Write a new random peer key (mode 0600) for `[sendconfig] keyfile`'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand help; and not __fish_seen_subcommand_from validate probe arp-check watch-counters peer-check run-active run-passive run simulate-timing example-config status keygen handover help" -f -a "handover" -d 'Planned switchover: the running daemons swap roles in one exchange over the sync link'
complete -c failoverctl -n "__fish_failoverctl_using_subcommand help; and not __fish_seen_subcommand_from validate probe arp-check watch-counters peer-check run-active run-passive run simulate-timing example-config status keygen handover help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
