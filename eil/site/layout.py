"""A field site's files, written by `eil site init` and `eil site add-node` into one directory
that the steward keeps (and backs up: it holds the site CA's key):

    site.toml                 site name, gateway hosts, ports, where the files are installed
    ca/ca.key, ca.crt, crl.pem    the site CA (key mode 600) and its revocation list
    broker/                   Mosquitto's config, server key and certificate, passwd, ACL
    gateway/                  gateway.toml and the gateway's loopback credential
    station.key               the tool-library stations' key for member pseudonyms (600)
    systemd/                  the gateway's, its forwarder's, the node agent's and Mosquitto's
                              units (units.py)
    nodes/<node>/             node.toml, node.key (600), node.crt, ca.crt: what goes on the node,
                              devices.conf (the agent's device drop-in), boot-config.txt
    nodes.json                every node: kind, certificate serial and expiry, revoked or not

The broker listens twice: TLS for the nodes on the network, where a node authenticates with
its client certificate (its common name is its user name and client id), and plain MQTT on
loopback only, with a password, for the gateway and the steward's tools on the same machine.
Running `init` again changes nothing that exists; every secret written is named in its output.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from contract.topics import check_id
from core.errors import ConfigError, EilError
from eil.broker import acl_text, find_binary
from eil.site import units
from eil.site.pki import SiteCa, write_private
from gateway.config import GATEWAY_USER

TLS_PORT, LOCAL_PORT = 8883, 1883


class SiteError(EilError):
    """A site directory or a node in it is missing or inconsistent."""


@dataclass
class Written:
    """What a command wrote: every path, and which of them are secrets (with their mode)."""

    files: list[Path] = field(default_factory=list)
    secrets: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)

    def report(self) -> str:
        lines = [f"wrote {p}" for p in self.files]
        lines += [f"secret {p} (mode {os.stat(p).st_mode & 0o777:o})" for p in self.secrets]
        lines += [f"kept {p} (exists)" for p in self.kept]
        return "\n".join(lines)


@dataclass(frozen=True)
class SiteConfig:
    site: str
    hosts: tuple[str, ...]  # the gateway's names and addresses, as nodes reach it
    tls_port: int = TLS_PORT
    local_port: int = LOCAL_PORT
    bind: str = "0.0.0.0"  # the TLS listener's address
    install: str = "/etc/eil"  # where these files live on the gateway and nodes

    def to_toml(self) -> str:
        hosts = ", ".join(f'"{h}"' for h in self.hosts)
        return (f'site = "{self.site}"\nhosts = [{hosts}]\ntls_port = {self.tls_port}\n'
                f'local_port = {self.local_port}\nbind = "{self.bind}"\n'
                f'install = "{self.install}"\n')


class Site:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.ca = SiteCa(root / "ca")

    # --- reading ------------------------------------------------------------------------------
    def config(self) -> SiteConfig:
        path = self.root / "site.toml"
        try:
            raw = tomllib.loads(path.read_text())
        except OSError as exc:
            raise SiteError(f"{self.root} is not a site directory (no site.toml): run `eil "
                            "site init` first") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
        return SiteConfig(raw["site"], tuple(raw["hosts"]), raw["tls_port"], raw["local_port"],
                          raw["bind"], raw["install"])

    def inventory(self) -> dict[str, dict[str, object]]:
        path = self.root / "nodes.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def _save_inventory(self, nodes: dict[str, dict[str, object]]) -> None:
        tmp = self.root / "nodes.json.tmp"
        tmp.write_text(json.dumps(nodes, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, self.root / "nodes.json")

    def installed(self, cfg: SiteConfig, *parts: str) -> str:
        """Where a file of this directory lives once installed (on the gateway or a node)."""
        return str(Path(cfg.install, *parts))

    # --- init ---------------------------------------------------------------------------------
    def init(self, cfg: SiteConfig) -> Written:
        check_id(cfg.site, "site")
        if not cfg.hosts:
            raise SiteError("--gateway-host: give at least one name or address nodes reach "
                            "the gateway by")
        out = Written()
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        existing = self.root / "site.toml"
        if existing.exists():
            old = self.config()
            if old.site != cfg.site:
                raise SiteError(f"{self.root} is the site {old.site!r}, not {cfg.site!r}")
            cfg = old  # a second run keeps what the first decided
            out.kept.append(existing)
        else:
            existing.write_text(cfg.to_toml())
            out.files.append(existing)
        if self.ca.create(cfg.site):
            out.secrets.append(self.ca.key_path)
            out.files.append(self.ca.cert_path)
        else:
            out.kept.append(self.ca.key_path)
        broker = self.root / "broker"
        broker.mkdir(exist_ok=True)
        server_key, server_crt = broker / "server.key", broker / "server.crt"
        if not server_key.exists():
            names = [*cfg.hosts, "localhost", "127.0.0.1"]
            self.ca.issue(f"EIL {cfg.site} broker", server_key, server_crt, server=True,
                          hosts=dict.fromkeys(names))
            out.secrets.append(server_key)
            out.files.append(server_crt)
        else:
            out.kept.append(server_key)
        self._write_crl(out)
        passwd = broker / "passwd"
        secret = self.root / "gateway" / "gateway.secret"
        if not secret.exists():
            write_private(secret, (secrets.token_urlsafe(24) + "\n").encode())
            out.secrets.append(secret)
        else:
            out.kept.append(secret)
        if not passwd.exists():
            write_private(passwd, f"{GATEWAY_USER}:{secret.read_text().strip()}\n".encode())
            result = subprocess.run([find_binary("mosquitto_passwd"), "-U", str(passwd)],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                raise SiteError(f"mosquitto_passwd failed: {result.stderr.strip()}")
            out.secrets.append(passwd)
        else:
            out.kept.append(passwd)
        self._write_if_changed(broker / "acl", acl_text(cfg.site), out)
        self._write_if_changed(broker / "mosquitto.conf", self._mosquitto_conf(cfg), out)
        self._write_if_changed(self.root / "gateway" / "gateway.toml", self._gateway_toml(cfg), out)
        systemd = self.root / "systemd"
        self._write_if_changed(systemd / "eil-gateway.service",
                               units.gateway_unit(cfg.site, cfg.install), out)
        self._write_if_changed(systemd / "eil-forward.service",
                               units.forward_unit(cfg.site, cfg.install), out)
        self._write_if_changed(systemd / "eil-node.service",
                               units.node_unit(cfg.site, cfg.install), out)
        self._write_if_changed(systemd / "mosquitto.service.d" / "eil.conf",
                               units.mosquitto_dropin(cfg.site), out)
        station = self.root / "station.key"
        if not station.exists():
            write_private(station, secrets.token_bytes(32))
            out.secrets.append(station)
        else:
            out.kept.append(station)
        return out

    def _write_if_changed(self, path: Path, text: str, out: Written) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.read_text() == text:
            out.kept.append(path)
            return
        path.write_text(text)
        out.files.append(path)

    def _write_crl(self, out: Written, *, again: bool = False) -> None:
        """The broker's copy of the CA certificate and the revocation list (made anew only
        when a node is revoked: `again`)."""
        crl = self.root / "broker" / "crl.pem"
        (self.root / "broker" / "ca.crt").write_bytes(self.ca.cert_path.read_bytes())
        if crl.exists() and not again:
            out.kept.append(crl)
            return
        revoked = [int(str(serial)) for n in self.inventory().values()
                   for serial in n.get("revoked_serials", [])]  # type: ignore[attr-defined]
        self.ca.write_crl(crl, revoked)
        out.files.append(crl)

    def _mosquitto_conf(self, cfg: SiteConfig) -> str:
        b = lambda name: self.installed(cfg, "broker", name)  # noqa: E731
        return f"""# Generated by `eil site init` for site {cfg.site}. Two listeners, each with its own
# authentication (per_listener_settings): TLS with client certificates for the nodes, and
# plain MQTT on loopback with a password for the gateway and local tools.
per_listener_settings true
persistence false
max_packet_size 1048576
max_inflight_messages 1000
max_queued_messages 100000
log_dest syslog
log_type error
log_type warning
log_type notice

listener {cfg.tls_port} {cfg.bind}
cafile {b("ca.crt")}
certfile {b("server.crt")}
keyfile {b("server.key")}
crlfile {b("crl.pem")}
require_certificate true
# a node's certificate names it: its common name is its user name, and its client id
use_identity_as_username true
use_username_as_clientid true
allow_anonymous false
acl_file {b("acl")}

listener {cfg.local_port} 127.0.0.1
allow_anonymous false
password_file {b("passwd")}
use_username_as_clientid true
acl_file {b("acl")}
"""

    def _gateway_toml(self, cfg: SiteConfig) -> str:
        return f"""# Generated by `eil site init` for site {cfg.site}.
site = "{cfg.site}"
data_dir = "/var/lib/eil/gateway"

[broker]                     # the broker's loopback listener, on this machine
host = "127.0.0.1"
port = {cfg.local_port}
username = "{GATEWAY_USER}"
password_file = "{self.installed(cfg, "gateway", "gateway.secret")}"

[http]
host = "127.0.0.1"           # put a TLS reverse proxy in front to serve the site's network
port = 8080
"""
