"""`eil site ...`: a field site's certificate authority, broker and gateway config, and the
credential and config of every node (eil/site/)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.errors import EilError


def _site(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from eil.site.layout import Site  # the cryptography package: only for site commands

    return Site(Path(args.dir))


def cmd_init(args: argparse.Namespace) -> int:
    from eil.site.layout import LOCAL_PORT, TLS_PORT, Site, SiteConfig

    cfg = SiteConfig(args.site, tuple(args.gateway_host), args.tls_port or TLS_PORT,
                     args.local_port or LOCAL_PORT, args.bind, args.install_dir)
    out = Site(Path(args.dir)).init(cfg)
    print(out.report())
    return 0


def cmd_add_node(args: argparse.Namespace) -> int:
    from eil.site.nodes import add_node, nodes_from_csv

    if bool(args.node) == bool(args.from_csv):
        raise EilError("give a node id with --kind, or --from nodes.csv (columns node, kind)")
    site = _site(args)
    todo = list(nodes_from_csv(Path(args.from_csv))) if args.from_csv else [(args.node, args.kind)]
    if not args.from_csv and not args.kind:
        raise EilError("--kind: which kit the node is (soil, water, energy, weather, tools, pico)")
    for node, kind in todo:
        print(add_node(site, node, kind, renew=args.renew).report())
    return 0


def cmd_add_device(args: argparse.Namespace) -> int:
    from contract.topics import NodeId, device_topic
    from eil.site.nodes import add_device

    site = _site(args)
    print(add_device(site, args.device).report())
    cfg = site.config()
    print(f"the device connects over TLS to port {cfg.tls_port} with devices/{args.device}/"
          f"device.crt and .key (CA: ca.crt) and publishes RFC 8428 SenML JSON to "
          f"{device_topic(NodeId(cfg.site, args.device))} (docs/contract.md)")
    return 0


def cmd_add_homeassistant(args: argparse.Namespace) -> int:
    from eil.site.nodes import add_homeassistant

    site = _site(args)
    print(add_homeassistant(site).report())
    print(f"in Home Assistant's MQTT integration: broker {site.config().hosts[0]}, port "
          f"{site.config().tls_port}, TLS with the CA devices/_homeassistant/ca.crt and the "
          "client certificate device.crt and key device.key (docs/homeassistant.md)")
    return 0


def cmd_add_member(args: argparse.Namespace) -> int:
    from eil.site.nodes import add_member

    site = _site(args)
    print(add_member(site, args.member).report())
    print(f"add {args.member!r} to the sites of this scope in its gateway's scopes.toml "
          f"([scopes.{site.config().site}] sites = [...]); give {args.member}'s steward the "
          f"folder members/{args.member}/ (docs/federation.md)")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from eil.site.nodes import revoke_node

    print(revoke_node(_site(args), args.node).report())
    print(f"{args.node} is revoked: reload the broker so it reads the new list "
          "(systemctl reload mosquitto, or send it SIGHUP)")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from eil.site.nodes import list_nodes

    nodes = list_nodes(_site(args))
    if args.json:
        print(json.dumps([{"node": n.node, "kind": n.kind, "serial": str(n.serial),
                           "not_after": n.not_after.isoformat(), "state": n.state}
                          for n in nodes], indent=2))
        return 0
    print(f"{'node':24} {'kind':8} {'credential':11} {'expires':10}")
    for n in nodes:
        print(f"{n.node:24} {n.kind:8} {n.state:11} {n.not_after:%Y-%m-%d}")
    if not nodes:
        print("no nodes yet: eil site add-node NAME --kind KIND")
    return 0


# optional extras a kit's node needs beyond `edge` (pyproject.toml)
KIT_EXTRAS: dict[str, tuple[str, ...]] = {"tools": ("spi",)}


def _wheelhouse(site, wheel: Path, arch: str, python: str, kinds: set[str]):  # type: ignore[no-untyped-def]
    """The site's wheelhouse for (arch, python), built or brought up to date, and checked."""
    from eil.site.wheelhouse import build, parse_target

    target = parse_target(arch, python)
    house = site.root / "wheelhouse" / f"{target.arch}-py{python}"
    extras = {"edge", *(x for k in kinds for x in KIT_EXTRAS.get(k, ()))}
    report = build(wheel, extras, target, house)
    print(f"wheelhouse for {target.arch}, Python {python}: {report.summary()} ({house})")
    return house, report


def cmd_wheelhouse(args: argparse.Namespace) -> int:
    """eil site wheelhouse: every package a node needs, as wheels for its platform (for the
    Ansible node role's offline install; eil site image makes its own)."""
    site = _site(args)
    kinds = {str(n["kind"]) for n in site.inventory().values()}
    _wheelhouse(site, Path(args.wheel), args.arch, args.python, kinds)
    return 0


def cmd_image(args: argparse.Namespace) -> int:
    import tempfile

    from eil.site.seed import node_seed, validate, write_boot_dir, write_image

    if bool(args.base) == bool(args.write_boot):
        raise EilError("give --base IMAGE with -o OUT, or --write-boot BOOT_PARTITION")
    if args.base and not args.output:
        raise EilError("-o: where to write the node's image (the base is never modified)")
    keys = [Path(k).read_text().strip() for k in args.ssh_key]
    wifi = None
    if args.wifi_ssid:
        if not args.wifi_password_file:
            raise EilError("--wifi-password-file: the Wi-Fi password, in a file of its own")
        wifi = (args.wifi_ssid, Path(args.wifi_password_file).read_text().strip())
    site = _site(args)
    house, os_modules = None, {}
    if args.wheel:
        kind = str(site.inventory().get(args.node, {}).get("kind", ""))
        house, report = _wheelhouse(site, Path(args.wheel), args.arch, args.python, {kind})
        os_modules = {module: package for module, package in report.from_os.values()}
    if not args.wheel:
        print("warning: no --wheel: the seed carries no agent, and the node's first boot will "
              "stop and say so (give --wheel dist/eil_stack-<version>-py3-none-any.whl)",
              file=sys.stderr)
    seed = node_seed(site, args.node, ssh_keys=keys, wifi=wifi, country=args.country,
                     wheelhouse=house, os_modules=os_modules)
    with tempfile.TemporaryDirectory(prefix="eil-seed-") as d:
        scratch = Path(d)
        (scratch / "user-data").write_text(seed.user_data)
        validate(scratch / "user-data")
        if args.base:
            write_image(seed, Path(args.base), Path(args.output), scratch)
            print(f"wrote {args.output}: {args.base} with {args.node}'s seed in its boot "
                  "partition (flash it with any imager)")
        else:
            write_boot_dir(seed, Path(args.write_boot), scratch)
            print(f"wrote {args.node}'s seed into {args.write_boot}")
    print("the boot partition holds the node's key and the Wi-Fi password until first boot "
          "moves them off it (the key to /etc/eil/node, the password to /etc/netplan): keep "
          "the card safe until then")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    site = sub.add_parser("site", help="a field site: CA, broker TLS, node credentials")
    acts = site.add_subparsers(dest="action", required=True)
    init = acts.add_parser("init", help="the site CA, broker and gateway config (idempotent)")
    init.add_argument("dir", help="the site directory (keep it safe: it holds the CA key)")
    init.add_argument("--site", required=True, help="site id (as in every node's config)")
    init.add_argument("--gateway-host", action="append", required=True, metavar="HOST",
                      help="a name or address nodes reach the gateway by (repeat)")
    init.add_argument("--tls-port", type=int, help="the nodes' TLS listener (8883)")
    init.add_argument("--local-port", type=int, help="the loopback listener (1883)")
    init.add_argument("--bind", default="0.0.0.0", help="the TLS listener's address")
    init.add_argument("--install-dir", default="/etc/eil",
                      help="where these files are installed on the gateway and the nodes")
    init.set_defaults(func=cmd_init)
    add = acts.add_parser("add-node", help="a node's certificate and node.toml")
    add.add_argument("node", nargs="?", help="the node id")
    add.add_argument("--kind", help="soil, water, energy, weather, tools or pico")
    add.add_argument("--from", dest="from_csv", metavar="CSV",
                     help="a batch: a CSV with the columns node and kind")
    add.add_argument("--renew", action="store_true",
                     help="a new key and certificate for an existing node (the old one is revoked)")
    add.add_argument("--dir", default=".", help="the site directory")
    add.set_defaults(func=cmd_add_node)
    dev = acts.add_parser("add-device", help="a third-party SenML device's certificate")
    dev.add_argument("device", help="the device id (shared with the nodes' ids)")
    dev.add_argument("--dir", default=".", help="the site directory")
    dev.set_defaults(func=cmd_add_device)
    ha = acts.add_parser("add-homeassistant", help="Home Assistant's certificate (MQTT)")
    ha.add_argument("--dir", default=".", help="the site directory")
    ha.set_defaults(func=cmd_add_homeassistant)
    mem = acts.add_parser("add-member", help="a member site's forwarder certificate and "
                                             "[upstream] table (this site is their scope)")
    mem.add_argument("member", help="the member site's id")
    mem.add_argument("--dir", default=".", help="this scope's site directory")
    mem.set_defaults(func=cmd_add_member)
    rev = acts.add_parser("revoke-node", help="refuse a node (or a device) from now on")
    rev.add_argument("node")
    rev.add_argument("--dir", default=".", help="the site directory")
    rev.set_defaults(func=cmd_revoke)
    img = acts.add_parser("image", help="a node's first-boot seed in a Raspberry Pi OS image")
    img.add_argument("--node", required=True)
    img.add_argument("--base", help="an official Raspberry Pi OS .img (unpacked); never modified")
    img.add_argument("-o", "--output", help="the node's image")
    img.add_argument("--write-boot", metavar="DIR", help="or: an already flashed card's boot "
                     "partition, mounted")
    img.add_argument("--ssh-key", action="append", required=True, metavar="FILE",
                     help="the steward's public SSH key (repeat)")
    img.add_argument("--wifi-ssid")
    img.add_argument("--wifi-password-file", metavar="FILE")
    img.add_argument("--country", default="GB", help="Wi-Fi regulatory domain")
    img.add_argument("--wheel", help="the agent's wheel (pip wheel --no-deps -w dist .): "
                     "with every package it needs, as wheels for the node, in the seed")
    img.add_argument("--arch", default="arm64", choices=("arm64", "armhf", "amd64"),
                     help="the node's Raspberry Pi OS: 64-bit (default; a Pi Zero 2 W, 3, 4, 5) "
                          "or 32-bit; amd64 for a node on a PC")
    img.add_argument("--python", default="3.13",
                     help="the node's Python (Raspberry Pi OS Trixie: 3.13, Bookworm: 3.11)")
    img.add_argument("--dir", default=".", help="the site directory")
    img.set_defaults(func=cmd_image)
    wh = acts.add_parser("wheelhouse", help="every package the nodes need, as wheels for "
                                            "their platform (offline installs)")
    wh.add_argument("--wheel", required=True, help="the agent's wheel (pip wheel --no-deps)")
    wh.add_argument("--arch", default="arm64", choices=("arm64", "armhf", "amd64"))
    wh.add_argument("--python", default="3.13", help="the nodes' Python (Trixie: 3.13)")
    wh.add_argument("--dir", default=".", help="the site directory")
    wh.set_defaults(func=cmd_wheelhouse)
    ls = acts.add_parser("list", help="every node with its credential's state and expiry")
    ls.add_argument("--dir", default=".", help="the site directory")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)
