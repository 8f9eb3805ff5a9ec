//! What clap cannot say about each command: exit status, signals, environment, files, examples and
//! related pages, appended to the page clap_mangen renders from the definitions.

/// The operator's sections of one page.
pub struct Extra {
    /// Subcommand name (`""` for failoverctl(1) itself).
    pub name: &'static str,
    pub exit: &'static [(&'static str, &'static str)],
    pub signals: &'static [(&'static str, &'static str)],
    pub environment: &'static [(&'static str, &'static str)],
    pub files: &'static [(&'static str, &'static str)],
    /// (command line, what it does).
    pub examples: &'static [(&'static str, &'static str)],
    pub see_also: &'static [&'static str],
    /// Extra sections (title, paragraphs) placed before EXIT STATUS.
    pub sections: &'static [(&'static str, &'static str)],
}

const CONFIG: (&str, &str) = (
    "/etc/failoverctl/failover.ini",
    "the configuration read by default (`-c` names another); see failover.ini(5)",
);
const KEYFILE: (&str, &str) = (
    "/etc/failoverctl/peer.key",
    "the peer protocol's shared key (`[sendconfig] keyfile`), mode 0600, the same on both nodes",
);
const STATE: (&str, &str) = (
    "/run/failoverctl/state.json",
    "the running daemon's state (`[policy] statefile`), read by `failoverctl status`",
);
const HISTORY: (&str, &str) = (
    "/var/lib/failoverctl/failovers",
    "the times of failure actions, kept across reboots for `maxfailovers` (`[policy] historyfile`)",
);

/// The diagnostics' shared codes.
const DIAG_EXIT: &[(&str, &str)] = &[
    ("0", "every checked channel is healthy"),
    (
        "1",
        "a finding: some channel failed (a test host or activeip did not answer), a device does not exist on this host, or the config is invalid",
    ),
    (
        "2",
        "usage, privilege (the message names the capability: CAP_NET_RAW, CAP_NET_ADMIN) or environment error",
    ),
];

const DAEMON_EXIT: &[(&str, &str)] = &[
    (
        "0",
        "stopped by SIGTERM or SIGINT; for `run-passive`, took over",
    ),
    (
        "1",
        "the config is invalid, a device is missing, or the run ended with a channel failure (`run-active`, or `run` after a failure action that ends it)",
    ),
    (
        "2",
        "usage, privilege or environment error: a missing capability, a `metricslisten` that cannot be bound, or `requirepeer` with a keyfile that cannot be read",
    ),
];

const DAEMON_SIGNALS: &[(&str, &str)] = &[
    (
        "SIGTERM, SIGINT",
        "stop cleanly: release the activeips when `releaseonstop= yes` (the default), run the down hooks, write the state file, exit 0",
    ),
    (
        "SIGHUP",
        "re-read and validate the config; a bad one is logged and the running one stays in force (`systemctl reload failoverctl`)",
    ),
];

const DAEMON_ENV: &[(&str, &str)] = &[
    (
        "NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID",
        "set by systemd (`Type=notify`, `WatchdogSec=`): the daemon sends READY, STATUS, WATCHDOG and STOPPING",
    ),
    (
        "JOURNAL_STREAM",
        "set by systemd: log lines carry syslog priorities instead of the time since start",
    ),
    (
        "FAILOVERCTL_REBOOT_COMMAND",
        "run through `/bin/sh -c` instead of reboot(2) for `onfailure= reboot` (tests and demos)",
    ),
];

const METRICS_TEXT: &str = "With `[policy] metricsfile= PATH` (a `.prom` file, for the node exporter's textfile collector) the daemon writes its metrics in the Prometheus text format, atomically and whenever they change; with `metricslisten= IP:PORT` it also serves them over HTTP on that address. The names:";

pub const PAGES: &[Extra] = &[
    Extra {
        name: "",
        exit: &[
            ("0", "success; every checked channel healthy"),
            ("1", "a finding: invalid config, a failed channel or check"),
            ("2", "usage, privilege or environment error"),
        ],
        signals: &[],
        environment: &[],
        files: &[CONFIG, KEYFILE, STATE, HISTORY],
        examples: &[
            ("failoverctl validate -c /etc/failoverctl/failover.ini", "check a config and print the channels and downtime bounds"),
            ("failoverctl simulate-timing", "the source document's downtime bounds for the built-in example"),
            ("systemctl enable --now failoverctl", "run the daemon (`failoverctl run`) as a service"),
            ("failoverctl status", "the running daemon's role and last decisions"),
        ],
        see_also: &[
            "failover.ini(5)", "failoverctl-run(1)", "failoverctl-validate(1)", "failoverctl-status(1)",
            "failoverctl-keygen(1)", "systemd.service(5)",
        ],
        sections: &[],
    },
    Extra {
        name: "validate",
        exit: &[
            ("0", "the config is valid (with `--strict`: and has no warnings)"),
            ("1", "the config is invalid, or has warnings with `--strict`"),
            ("2", "the file cannot be read, or the command line is wrong"),
        ],
        signals: &[],
        environment: &[],
        files: &[CONFIG, KEYFILE],
        examples: &[
            ("failoverctl validate -c /etc/failoverctl/failover.ini", "every problem at once, compiler-style, then the channels and bounds"),
            ("failoverctl validate --check-host --strict", "also check this host's devices, addresses and keyfile; fail on warnings"),
            ("failoverctl example-config | failoverctl validate -c - --json", "validate standard input, as JSON"),
        ],
        see_also: &["failover.ini(5)", "failoverctl-example-config(1)", "failoverctl-keygen(1)"],
        sections: &[(
            "KEYFILE",
            "A `[sendconfig] keyfile` that is missing, unreadable, not a key, or readable by group or others is reported: a warning, and an error with `--check-host`.",
        )],
    },
    Extra {
        name: "probe",
        exit: DIAG_EXIT,
        signals: &[],
        environment: &[],
        files: &[CONFIG],
        examples: &[
            ("failoverctl probe --device eth1 192.0.2.1 192.0.2.12 --timeout 300ms", "one echo to each address out of eth1"),
            ("failoverctl probe -c /etc/failoverctl/failover.ini --json", "every channel's test hosts, as JSON"),
        ],
        see_also: &["failoverctl-arp-check(1)", "ping(8)"],
        sections: &[],
    },
    Extra {
        name: "arp-check",
        exit: DIAG_EXIT,
        signals: &[],
        environment: &[],
        files: &[CONFIG],
        examples: &[
            ("failoverctl arp-check --device eth1 192.0.2.10 --timeout 300ms", "the source document's table method"),
            ("failoverctl arp-check -c /etc/failoverctl/failover.ini --method raw --json", "raw ARP, touching no kernel table"),
        ],
        see_also: &["failoverctl-probe(1)", "arping(8)", "ip-neighbour(8)"],
        sections: &[],
    },
    Extra {
        name: "watch-counters",
        exit: DIAG_EXIT,
        signals: &[("SIGINT", "stop sampling and exit 0")],
        environment: &[],
        files: &[CONFIG],
        examples: &[
            ("failoverctl watch-counters eth1 eth2 --interval 1s", "traffic or idle, every second, until Ctrl-C"),
            ("failoverctl watch-counters -c /etc/failoverctl/failover.ini --count 10 --json", "ten intervals as JSON Lines"),
        ],
        see_also: &["failover.ini(5)"],
        sections: &[],
    },
    Extra {
        name: "peer-check",
        exit: &[
            ("0", "the peer answered and reaches every test host"),
            ("1", "the peer did not answer, or some test host is unreached from it"),
            ("2", "usage, privilege or environment, including no `peerip` or no key configured"),
        ],
        signals: &[],
        environment: &[],
        files: &[CONFIG, KEYFILE],
        examples: &[
            ("failoverctl peer-check", "ask the peer about every channel"),
            ("failoverctl peer-check --channel if-1 --timeout 1s --json", "one channel, as JSON"),
        ],
        see_also: &["failoverctl-keygen(1)", "failover.ini(5)"],
        sections: &[],
    },
    Extra {
        name: "run-active",
        exit: DAEMON_EXIT,
        signals: DAEMON_SIGNALS,
        environment: DAEMON_ENV,
        files: &[CONFIG, KEYFILE, STATE, HISTORY],
        examples: &[("failoverctl run-active -c failover.ini --dry-run", "log what would be done, change nothing")],
        see_also: &["failoverctl-run(1)", "failoverctl-run-passive(1)"],
        sections: &[],
    },
    Extra {
        name: "run-passive",
        exit: DAEMON_EXIT,
        signals: DAEMON_SIGNALS,
        environment: DAEMON_ENV,
        files: &[CONFIG, KEYFILE, STATE],
        examples: &[("failoverctl run-passive -c failover.ini --dry-run", "log what would be done, change nothing")],
        see_also: &["failoverctl-run(1)", "failoverctl-run-active(1)"],
        sections: &[],
    },
    Extra {
        name: "run",
        exit: DAEMON_EXIT,
        signals: DAEMON_SIGNALS,
        environment: DAEMON_ENV,
        files: &[
            CONFIG,
            KEYFILE,
            STATE,
            HISTORY,
            ("/usr/lib/systemd/system/failoverctl.service", "the systemd unit that runs `failoverctl run`"),
        ],
        examples: &[
            ("systemctl enable --now failoverctl", "start the service (the package's unit runs `failoverctl run`)"),
            ("systemctl reload failoverctl", "SIGHUP: re-read the config"),
            ("failoverctl run -c /etc/failoverctl/failover.ini --dry-run", "log every change it would make and make none"),
        ],
        see_also: &[
            "failover.ini(5)", "failoverctl-status(1)", "failoverctl-keygen(1)", "systemd.service(5)",
            "systemd.exec(5)",
        ],
        sections: &[("METRICS", METRICS_TEXT)],
    },
    Extra {
        name: "simulate-timing",
        exit: &[
            ("0", "the bounds were computed"),
            ("1", "the config is invalid"),
            ("2", "the file cannot be read, or the command line is wrong"),
        ],
        signals: &[],
        environment: &[],
        files: &[],
        examples: &[
            ("failoverctl simulate-timing", "the built-in example: 16 s, 16 s, 32 s; 62 s with the 30 s shutdown delay"),
            ("failoverctl simulate-timing -c /etc/failoverctl/failover.ini --shutdown-delay 45s --json", "a config's bounds, as JSON"),
        ],
        see_also: &["failover.ini(5)", "failoverctl-validate(1)"],
        sections: &[],
    },
    Extra {
        name: "example-config",
        exit: &[("0", "printed")],
        signals: &[],
        environment: &[],
        files: &[CONFIG],
        examples: &[(
            "failoverctl example-config > failover.ini",
            "start a config from the annotated example (the package installs it as /etc/failoverctl/failover.ini.example)",
        )],
        see_also: &["failover.ini(5)", "failoverctl-validate(1)"],
        sections: &[],
    },
    Extra {
        name: "status",
        exit: &[
            ("0", "the daemon is running"),
            ("1", "it is not running (no state file, or its writer is gone)"),
            ("2", "the state file cannot be read"),
        ],
        signals: &[],
        environment: &[],
        files: &[CONFIG, STATE],
        examples: &[
            ("failoverctl status", "role, counters, hold and the last decisions"),
            ("failoverctl status --state-file /run/failoverctl/state.json --json", "the state file as JSON, plus `running`"),
        ],
        see_also: &["failoverctl-run(1)"],
        sections: &[],
    },
    Extra {
        name: "keygen",
        exit: &[
            ("0", "the key was written"),
            ("2", "the file exists (without `--force`) or cannot be written"),
        ],
        signals: &[],
        environment: &[],
        files: &[KEYFILE],
        examples: &[
            ("failoverctl keygen", "write /etc/failoverctl/peer.key (mode 0600), then copy it to the peer"),
            ("failoverctl keygen --out /etc/failoverctl/peer.key --force", "replace the key (both nodes need the new one)"),
            ("failoverctl keygen --out -", "print a key for an inline `[sendconfig] key=`"),
        ],
        see_also: &["failover.ini(5)", "failoverctl-peer-check(1)"],
        sections: &[],
    },
    Extra {
        name: "handover",
        exit: &[
            ("0", "the other node holds every activeip (run on the passive: this node does)"),
            ("1", "no handover: the peer did not answer, is not fit to serve, or no daemon runs here; nothing was changed (the reason is printed)"),
            ("2", "usage, or the config cannot be read"),
        ],
        signals: &[],
        environment: &[],
        files: &[CONFIG, STATE],
        examples: &[
            ("failoverctl handover -c /etc/failoverctl/failover.ini", "on either node: swap the roles in one exchange over the sync link"),
            ("failoverctl handover --timeout 1s --json", "machine-readable: ok, message, elapsed_ms"),
        ],
        see_also: &["failoverctl-run(1)", "failoverctl-status(1)", "failover.ini(5)"],
        sections: &[],
    },
];
