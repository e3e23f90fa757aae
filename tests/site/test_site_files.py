"""`eil site` files without a broker: every kind's node.toml is a valid node config, batches from
CSV, revocation and renewal in the CRL, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from core.errors import EilError
from edge.config import load_node_config
from eil.site.layout import Site, SiteConfig, SiteError
from eil.site.nodes import (
    KINDS,
    add_device,
    add_homeassistant,
    add_node,
    list_nodes,
    nodes_from_csv,
    revoke_node,
)


@pytest.fixture
def site(tmp_path: Path) -> Site:
    s = Site(tmp_path / "site")
    s.init(SiteConfig("field", ("10.0.0.2", "gateway.lan"), install=str(tmp_path / "site")))
    return s


def installed_copy(site: Site, node: str, tmp_path: Path) -> Path:
    cfg = tmp_path / f"{node}.toml"
    cfg.write_text((site.root / "nodes" / node / "node.toml").read_text()
                   .replace(f'"{site.root}/node/', f'"{site.root}/nodes/{node}/'))
    return cfg


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_is_a_valid_node_config_over_tls(site: Site, tmp_path: Path, kind: str) -> None:
    add_node(site, f"{kind}-1", kind)
    cfg = load_node_config(installed_copy(site, f"{kind}-1", tmp_path))
    assert (cfg.id.site, cfg.id.node) == ("field", f"{kind}-1")
    assert cfg.broker.tls and cfg.broker.password is None and cfg.broker.port == 8883
    assert cfg.broker.host == "10.0.0.2" and cfg.broker.cert_file.endswith("node.crt")  # type: ignore[union-attr]
    assert {s.type for s in cfg.sensors} == {*KINDS[kind], "node_health"}
    cert = x509.load_pem_x509_certificate((site.root / "nodes" / f"{kind}-1" / "node.crt")
                                          .read_bytes())
    assert cert.subject.rfc4514_string() == f"CN={kind}-1"  # the broker's user name for it


def test_the_broker_certificate_names_the_gateway(site: Site) -> None:
    cert = x509.load_pem_x509_certificate((site.root / "broker" / "server.crt").read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(n.value) for n in sans} >= {"10.0.0.2", "gateway.lan", "localhost", "127.0.0.1"}
    conf = (site.root / "broker" / "mosquitto.conf").read_text()
    assert "require_certificate true" in conf and "use_identity_as_username true" in conf
    assert "listener 1883 127.0.0.1" in conf and "allow_anonymous true" not in conf


def test_a_batch_from_csv_and_the_list(site: Site, tmp_path: Path) -> None:
    csv_file = tmp_path / "nodes.csv"
    csv_file.write_text("node,kind\nbed-1,soil\nbed-2,soil\nshed,energy\n")
    for node, kind in nodes_from_csv(csv_file):
        add_node(site, node, kind)
    assert [(n.node, n.kind, n.state) for n in list_nodes(site)] == [
        ("bed-1", "soil", "valid"), ("bed-2", "soil", "valid"), ("shed", "energy", "valid")]
    add_node(site, "bed-1", "soil")  # again: kept, not re-keyed
    assert list_nodes(site)[0].serial == int(str(site.inventory()["bed-1"]["serial"]))
    bad = tmp_path / "bad.csv"
    bad.write_text("node,kind\nbed-3,\n")
    with pytest.raises(SiteError, match="bad.csv:2: needs a node and a kind"):
        list(nodes_from_csv(bad))


def test_revocation_and_renewal_reach_the_crl(site: Site) -> None:
    add_node(site, "bed-1", "soil")
    first = int(str(site.inventory()["bed-1"]["serial"]))
    revoke_node(site, "bed-1")
    crl = x509.load_pem_x509_crl((site.root / "broker" / "crl.pem").read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(first) is not None
    with pytest.raises(SiteError, match="was revoked: give the replacement a new node id"):
        add_node(site, "bed-1", "soil")
    add_node(site, "bed-1", "soil", renew=True)  # re-admitted with a new key
    second = int(str(site.inventory()["bed-1"]["serial"]))
    crl = x509.load_pem_x509_crl((site.root / "broker" / "crl.pem").read_bytes())
    assert second != first and crl.get_revoked_certificate_by_serial_number(first) is not None
    assert crl.get_revoked_certificate_by_serial_number(second) is None
    assert [n.state for n in list_nodes(site)] == ["valid"]


def test_a_senml_device_gets_a_certificate_and_an_id_no_node_has(site: Site) -> None:
    add_node(site, "bed-1", "soil")
    add_device(site, "meter-1")
    d = site.root / "devices" / "meter-1"
    assert (d / "device.key").stat().st_mode & 0o777 == 0o600
    cert = x509.load_pem_x509_certificate((d / "device.crt").read_bytes())
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "meter-1"
    assert [(n.node, n.kind) for n in list_nodes(site)] == [("bed-1", "soil"),
                                                            ("meter-1", "senml")]
    assert add_device(site, "meter-1").kept  # again: kept
    with pytest.raises(SiteError, match="is a SenML device of this site"):
        add_node(site, "meter-1", "soil")
    with pytest.raises(SiteError, match="is a soil node of this site"):
        add_device(site, "bed-1")
    add_homeassistant(site)  # Home Assistant's certificate: named as its broker user
    cert = x509.load_pem_x509_certificate(
        (site.root / "devices" / "_homeassistant" / "device.crt").read_bytes())
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == \
        "_homeassistant"
    assert "_homeassistant" in {n.node for n in list_nodes(site)}
    serial = int(str(site.inventory()["meter-1"]["serial"]))
    revoke_node(site, "meter-1")
    crl = x509.load_pem_x509_crl((site.root / "broker" / "crl.pem").read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(serial) is not None


@pytest.mark.parametrize("call, message", [
    (lambda s: add_node(s, "Bed 1", "soil"), "invalid node id 'Bed 1'"),
    (lambda s: add_node(s, "bed-1", "greenhouse"),
     "--kind 'greenhouse': one of energy, pico, soil, tools, water, weather"),
    (lambda s: revoke_node(s, "nobody"), "no node 'nobody'"),
    (lambda s: Site(s.root.parent / "nowhere").config(), "is not a site directory"),
    (lambda s: s.init(SiteConfig("other", ("x",))), "is the site 'field', not 'other'"),
])
def test_refusals_name_the_problem(site: Site, call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(EilError, match=message):
        call(site)
