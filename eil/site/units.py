"""The systemd units of a site, written into the site directory by `eil site init` and installed
verbatim by both the first-boot seed and the Ansible roles (one source for both paths).

Every unit runs its service under its own system user with the sandbox systemd offers a network
daemon: read-only system, no new privileges, no capabilities, system calls limited to
`@system-service`, only IP and Unix sockets. A node's agent additionally sees only the device
nodes its kit's buses need (`DevicePolicy=closed` plus the node's own `devices.conf` drop-in
with `DeviceAllow=` and the matching supplementary groups).
"""

from __future__ import annotations

from dataclasses import dataclass

VENV = "/opt/eil"  # the agent's or gateway's virtualenv
NODE_USER, GATEWAY_SERVICE_USER = "eil-node", "eil-gateway"


@dataclass(frozen=True)
class Interface:
    """What one of the Pi's buses needs: its config.txt line, device classes, group."""

    boot: tuple[str, ...]  # lines in /boot/firmware/config.txt
    devices: tuple[str, ...]  # DeviceAllow= classes (as in /proc/devices)
    group: str


INTERFACES: dict[str, Interface] = {
    "i2c": Interface(("dtparam=i2c_arm=on",), ("char-i2c",), "i2c"),
    "spi": Interface(("dtparam=spi=on",), ("char-spidev",), "spi"),
    # the UART on GPIO14/15 (ttyAMA on a Pi 3/4/5, ttyS for the mini UART) or a Pico over USB
    "serial": Interface(("enable_uart=1",), ("char-ttyAMA", "char-ttyS", "char-ttyACM"),
                        "dialout"),
    "gpio": Interface((), ("char-gpiochip",), "gpio"),
    "onewire": Interface(("dtoverlay=w1-gpio",), (), "gpio"),  # read through /sys: no device
}

# a node kind's buses (the sensors of its kit in eil/site/nodes.py KINDS)
KIND_INTERFACES: dict[str, tuple[str, ...]] = {
    "soil": ("i2c",), "water": ("gpio", "serial"), "energy": ("i2c",), "weather": ("i2c",),
    "tools": ("serial", "spi", "i2c", "gpio"), "pico": ("serial",),
}

# The sandbox both services share. Not set, and why: PrivateDevices (a node needs its buses;
# the gateway sets it), PrivateUsers (a node reaches its devices through supplementary groups,
# which a user namespace would map to nobody), ProcSubset=pid on a node (node_health reads
# /proc/meminfo and /proc/stat).
SANDBOX = """NoNewPrivileges=yes
UMask=0077
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
RemoveIPC=yes
CapabilityBoundingSet=
AmbientCapabilities=
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
SystemCallErrorNumber=EPERM
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
"""


def node_unit(site: str, config_dir: str) -> str:
    return f"""[Unit]
Description=EIL node agent (site {site})
Documentation=man:systemd.exec(5)
After=network-online.target time-sync.target
Wants=network-online.target

[Service]
Type=exec
User={NODE_USER}
Group={NODE_USER}
ExecStart={VENV}/bin/eil node run --config {config_dir}/node/node.toml --drain 20
Restart=always
RestartSec=5
# the outbox: survives restarts; systemd creates it owned by the agent's user
StateDirectory=eil/node
StateDirectoryMode=0750
# a node sees only the device nodes its buses need: devices.conf (DeviceAllow=, groups)
DevicePolicy=closed
{SANDBOX}
[Install]
WantedBy=multi-user.target
"""


def node_devices(kind: str) -> str:
    """The drop-in eil-node.service.d/devices.conf of a node of this kind."""
    used = [INTERFACES[i] for i in KIND_INTERFACES[kind]]
    allow = "".join(f"DeviceAllow={d} rw\n" for i in used for d in i.devices)
    groups = " ".join(dict.fromkeys(i.group for i in used))
    return (f"# the {kind} kit's buses: {', '.join(KIND_INTERFACES[kind])}\n[Service]\n"
            f"SupplementaryGroups={groups}\n{allow}")


def boot_config(kind: str) -> list[str]:
    """The lines a node of this kind needs in /boot/firmware/config.txt."""
    return list(dict.fromkeys(line for i in KIND_INTERFACES[kind]
                              for line in INTERFACES[i].boot))


def _gateway_service(description: str, after: str, wants: str, command: str, stop: str) -> str:
    """A unit of the gateway's user: the gateway itself, or its forwarder beside it."""
    return f"""[Unit]
Description={description}
Documentation=man:systemd.exec(5)
After={after}
Wants={wants}

[Service]
Type=exec
User={GATEWAY_SERVICE_USER}
Group={GATEWAY_SERVICE_USER}
ExecStart={VENV}/bin/eil {command}
# polars checks the CPU's features at import by running CPUID from memory it makes executable,
# which MemoryDenyWriteExecute= below refuses: the gateway exited at start under systemd (found
# by booting the installed root). Its builds for the CPUs a gateway runs on (aarch64, x86-64)
# need no check to run; an x86 CPU without them stops at the first vector instruction instead.
Environment=POLARS_SKIP_CPU_CHECK=1
Restart=always
RestartSec=5
# SIGTERM: {stop}
TimeoutStopSec=30
StateDirectory=eil/gateway
StateDirectoryMode=0750
PrivateDevices=yes
PrivateUsers=yes
ProcSubset=pid
{SANDBOX}
[Install]
WantedBy=multi-user.target
"""


def gateway_unit(site: str, config_dir: str) -> str:
    return _gateway_service(
        f"EIL gateway (site {site}): ingest, signals, views",
        "network-online.target mosquitto.service", "network-online.target mosquitto.service",
        f"gateway run --config {config_dir}/gateway/gateway.toml",
        "the gateway finishes the pack it is committing, then exits")


def forward_unit(site: str, config_dir: str) -> str:
    """The forwarder to the scope above (docs/federation.md), beside the gateway: its own
    process, so a dead upstream link or a failing forwarder never touches ingest."""
    return _gateway_service(
        f"EIL forwarder (site {site}): signal summaries to the scope above ([upstream])",
        "network-online.target eil-gateway.service", "network-online.target",
        f"gateway forward --config {config_dir}/gateway/gateway.toml",
        "the forwarder commits what it took to its outbox, then exits")


def mosquitto_dropin(site: str) -> str:
    """Debian's mosquitto.service, run as its own user from the start (its unit starts as root,
    creates its directories with ExecStartPre and drops privileges itself) and sandboxed."""
    return f"""# Installed for EIL site {site}: Debian's mosquitto.service, sandboxed.
[Service]
ExecStartPre=
User=mosquitto
Group=mosquitto
RuntimeDirectory=mosquitto
LogsDirectory=mosquitto
StateDirectory=mosquitto
PrivateDevices=yes
PrivateUsers=yes
ProcSubset=pid
{SANDBOX}"""
