from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from edge.calibration import CalibrationBook
from edge.config import load_node_config
from edge.fakes.hardware import FakeHardware
from edge.registry import REGISTRY, attach

GOOD = """
site = "garden-1"
node = "soil-1"
data_dir = "state"
[broker]
port = 1884
password = "s3cret"
[[sensors]]
type = "sim.soil"
interval_s = 120
seed = 9
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "node.toml"
    p.write_text(text)
    return p


def test_good_config_parses_into_frozen_objects(tmp_path: Path) -> None:
    cfg = load_node_config(write(tmp_path, GOOD))
    assert str(cfg.id) == "garden-1/soil-1"
    assert cfg.data_dir == tmp_path / "state"
    assert (cfg.broker.port, cfg.broker.username, cfg.broker.password) == (1884, "soil-1", "s3cret")
    assert cfg.sensors[0].interval_s == 120 and cfg.sensors[0].options == {"seed": 9}
    assert cfg.publish.max_records_per_pack == 500


@pytest.mark.parametrize("change, message", [
    (('node = "soil-1"', 'node = "Soil 1"'), "site/node: invalid node id 'Soil 1'"),
    (("port = 1884", "port = 99999"), "broker.port: not a TCP port: 99999"),
    (("port = 1884", 'port = "1884"'), "broker.port: expected int, got str '1884'"),
    (('password = "s3cret"', ""), "broker.password_file: required key is missing (or a client "
                                  "certificate: cert_file and key_file)"),
    (('password = "s3cret"', 'cert_file = "/etc/eil/node/node.crt"'),
     "broker.key_file: a client certificate needs both cert_file and key_file"),
    (('password = "s3cret"', 'cert_file = "n.crt"\nkey_file = "n.key"'),
     "broker.tls: a client certificate (cert_file) is only sent over TLS: tls = true"),
    (('type = "sim.soil"', 'type = "sim.soyl"'),
     "sensors[0]: type: unknown sensor type 'sim.soyl'; known types: ads1115_soil, bme280, dfrobot_tds"),
    (("seed = 9", "seed = 9\nsede = 3"), "sensors[0]: unknown option(s) sede for type 'sim.soil'; "
     "it takes: field_capacity, refill_point, seed"),
    (("seed = 9", 'seed = "nine"'), "sensors[0]: seed: expected int, got 'nine'"),
    (('type = "sim.soil"', 'type = "ina219"\naddress = 0x20'),
     "sensors[0]: address: 0x20 is not one of this chip's addresses (0x40-0x4f)"),
    (('type = "sim.soil"', 'type = "jsn_sr04t"'), "sensors[0]: diameter_m: required option is missing"),
    (('type = "sim.soil"', 'type = "sim.soil"\ncalibration = "c-123"'),
     "sensors[0]: calibration: type 'sim.soil' takes no calibration"),
    (('type = "sim.soil"', 'type = "sim.soil"\nid = "Bed 1"'), "sensors[0].id: 'Bed 1' must be"),
    (("interval_s = 120", "interval_s = 0"), "sensors[0].interval_s: must be > 0, got 0.0"),
    (("[[sensors]]", "[[sensor]]"), "sensors: a node needs at least one [[sensors]] block"),
    (("seed = 9", "seed = 9\n[[sensors]]\ntype = \"sim.soil\""), "sensors[1].id: two sensors"),
    (('site = "garden-1"', 'site = "garden-1'), "not valid TOML"),
])
def test_bad_config_names_file_key_and_reason(tmp_path: Path, change: tuple[str, str],
                                              message: str) -> None:
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ConfigError) as exc:
        cfg = load_node_config(path)
        for s in cfg.sensors:
            attach(s, FakeHardware(), CalibrationBook(tmp_path / "cal.json"))
    assert str(exc.value).startswith(str(path)) and message in str(exc.value)


def test_password_file(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("from-file\n")
    cfg = load_node_config(write(tmp_path, GOOD.replace('password = "s3cret"',
                                                        f'password_file = "{tmp_path / "pw"}"')))
    assert cfg.broker.password == "from-file"
    missing = write(tmp_path, GOOD.replace('password = "s3cret"', 'password_file = "/nope"'))
    with pytest.raises(ConfigError, match="broker.password_file: cannot read /nope"):
        load_node_config(missing)


def test_registry_lists_the_simulated_kinds() -> None:
    assert {"sim.soil", "sim.water", "sim.energy", "sim.tool_station"} <= set(REGISTRY)


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_every_drivers_sample_config_is_a_valid_config(tmp_path: Path, kind: str) -> None:
    head = GOOD[:GOOD.index("[[sensors]]")]
    cfg = load_node_config(write(tmp_path, head + REGISTRY[kind].sample_config))
    assert [s.type for s in cfg.sensors] == [kind]
