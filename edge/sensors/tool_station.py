"""Tool-library station: RFID readers, a two-tap check-out / check-in, LED and buzzer feedback.

A member taps their card and the tool's tag (either order) on any of the station's readers. The
station turns each member card into a keyed pseudonym at once (edge/station.py); the raw UID
never leaves this process and is never logged. Each outcome is an event in the outbox, so taps
made while the gateway is unreachable arrive later, in order:
    loan.checkout / loan.checkin   value: tool tag, ref: member pseudonym
    loan.refused                   value: "<tool tag>: <reason>", ref: member pseudonym
    card.unknown                   ref: pseudonym of a card that is not enrolled (to enrol it)
Which tags are tools, which pseudonyms are members, and each tool's state come from the library
view the gateway keeps in `<data_dir>/library_view.json`.

Readers: `rdm6300` (125 kHz, UART `port`), `pn532` (13.56 MHz, I2C `bus`, default 1), `mfrc522`
(13.56 MHz, SPI `bus` and chip select `device`, default 0 and 0).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contract.senml import Kind
from edge.driver import Driver, Options, QuantitySpec, Sample
from edge.errors import SensorError
from edge.hardware import Hardware
from edge.sensors import pn532
from edge.sensors.mfrc522 import FakeMFRC522, Mfrc522
from edge.sensors.pn532 import Pn532
from edge.sensors.rdm6300 import FakeRdm6300, Rdm6300
from edge.station import VIEW_FILE, Debouncer, Outcome, TwoTap, ViewFile, load_site_key, pseudonym

if TYPE_CHECKING:
    from edge.fakes.hardware import FakeHardware

log = logging.getLogger("eil.station")

SAMPLE_CONFIG = """
[[sensors]]
type = "tool_station"
interval_s = 0.1                       # how often the readers are polled
readers = [{ type = "rdm6300", port = "/dev/serial0" }]
key_file = "/etc/eil/station.key"      # outside the data directory; eil node station-key
timeout_s = 20                         # between the two taps
led_ok = 23                            # BCM pins; leave out what the station does not have
led_error = 24
buzzer = 25
"""

QUANTITIES = (
    QuantitySpec("loan.checkout", None, Kind.EVENT, "a tool leaves the library"),
    QuantitySpec("loan.checkin", None, Kind.EVENT, "a tool comes back"),
    QuantitySpec("loan.refused", None, Kind.EVENT, "a check-out the station refused, and why"),
    QuantitySpec("card.unknown", None, Kind.EVENT, "a card that is not enrolled (pseudonym)"),
)
FAILING_POLLS = 50  # consecutive failed polls of every reader before the station is unavailable
READER_OPTIONS = {"rdm6300": {"port"}, "pn532": {"bus"}, "mfrc522": {"bus", "device"}}


@dataclass(frozen=True)
class ReaderOptions:
    type: str
    name: str
    port: str | None = None  # rdm6300: its UART
    bus: int = 0  # pn532: I2C bus (default 1); mfrc522: SPI bus
    device: int = 0  # mfrc522: SPI chip select


@dataclass(frozen=True)
class StationOptions:
    readers: tuple[ReaderOptions, ...]
    key_file: Path
    timeout_s: float
    removal_s: float
    overdue_blocks_checkout: bool
    led_ok: int | None
    led_error: int | None
    buzzer: int | None


def _reader(i: int, raw: Any) -> ReaderOptions:
    where = f"readers[{i}]"
    if not isinstance(raw, dict) or raw.get("type") not in READER_OPTIONS:
        raise ValueError(f"{where}: needs type = one of {', '.join(READER_OPTIONS)}")
    kind = raw["type"]
    unknown = set(raw) - {"type"} - READER_OPTIONS[kind]
    if unknown:
        raise ValueError(f"{where}: unknown option(s) {', '.join(sorted(unknown))} for {kind}")
    for key in ("bus", "device"):
        if key in raw and (not isinstance(raw[key], int) or isinstance(raw[key], bool)
                           or raw[key] < 0):
            raise ValueError(f"{where}: {key} = {raw[key]!r} is not a bus or chip-select number")
    name = f"{kind}-{i}"
    if kind == "rdm6300":
        if not isinstance(raw.get("port"), str):
            raise ValueError(f"{where}: rdm6300 needs a port (e.g. port = '/dev/serial0')")
        return ReaderOptions(kind, name, port=raw["port"])
    if kind == "pn532":
        return ReaderOptions(kind, name, bus=raw.get("bus", 1))
    return ReaderOptions(kind, name, bus=raw.get("bus", 0), device=raw.get("device", 0))


def parse(o: Options) -> StationOptions:
    readers = o.get("readers", list)
    if not readers:
        raise ValueError("readers: at least one reader is needed")
    pins = {key: o.get(key, int, None) for key in ("led_ok", "led_error", "buzzer")}
    return StationOptions(tuple(_reader(i, r) for i, r in enumerate(readers)),
                          Path(o.get("key_file", str, "/etc/eil/station.key")),
                          o.number("timeout_s", 20.0, low=2.0, high=300.0),
                          o.number("removal_s", 0.6, low=0.1, high=5.0),
                          o.get("overdue_blocks_checkout", bool, True), **pins)


def open_reader(r: ReaderOptions, hw: Hardware) -> Any:
    if r.type == "rdm6300":
        assert r.port is not None
        return Rdm6300(r.port, hw)
    if r.type == "pn532":
        return Pn532(r.bus, hw)
    return Mfrc522(r.bus, r.device, hw)


class Feedback:
    """LED and buzzer patterns through gpiozero; a station without them stays silent."""

    PATTERNS = {  # led, (on, off, n) for the LED, (on, off, n) for the buzzer
        "waiting": ("ok", (0.15, 0.15, None), (0.05, 0.05, 1)),
        "checkout": ("ok", (1.5, 0.0, 1), (0.1, 0.1, 1)),
        "checkin": ("ok", (1.5, 0.0, 1), (0.1, 0.1, 2)),
        "refused": ("error", (1.5, 0.0, 1), (0.1, 0.1, 3)),
        "overdue": ("error", (0.3, 0.3, 4), (0.4, 0.2, 2)),
        "unknown": ("error", (0.1, 0.1, 6), (0.6, 0.1, 1)),
        "cancelled": (None, None, (0.05, 0.05, 1)),
        "timeout": (None, None, (0.05, 0.05, 1)),
    }

    def __init__(self, opts: StationOptions, hw: Hardware) -> None:
        from gpiozero import LED, Buzzer

        factory = hw.pin_factory()
        self.leds = {name: LED(pin, pin_factory=factory) for name, pin in
                     (("ok", opts.led_ok), ("error", opts.led_error)) if pin is not None}
        self.buzzer = Buzzer(opts.buzzer, pin_factory=factory) if opts.buzzer is not None else None

    def show(self, kind: str) -> None:
        led, blink, beep = self.PATTERNS[kind]
        for led_device in self.leds.values():
            led_device.off()
        if led is not None and blink is not None and led in self.leds:
            on, off, n = blink
            self.leds[led].blink(on_time=on, off_time=off, n=n, background=True)
        if self.buzzer is not None:
            on, off, n = beep
            self.buzzer.beep(on_time=on, off_time=off, n=n, background=True)

    def close(self) -> None:
        for device in [*self.leds.values(), *([self.buzzer] if self.buzzer else [])]:
            device.close()


class ToolStation:
    quantities = QUANTITIES

    def __init__(self, opts: StationOptions, hw: Hardware) -> None:
        self.key = load_site_key(hw.secret_path(opts.key_file), hw.data_dir)
        self.view = ViewFile(hw.data_dir / VIEW_FILE)
        self.debounce = Debouncer(opts.removal_s)
        self.taps = TwoTap(opts.timeout_s, opts.overdue_blocks_checkout)
        self.readers: dict[str, Any] = {}
        self.failing: dict[str, int] = {}  # reader -> consecutive failed polls
        try:
            for r in opts.readers:
                self.readers[r.name] = open_reader(r, hw)
            self.feedback = Feedback(opts, hw)
        except BaseException:
            self.close()
            raise

    def read(self, now: float) -> list[Sample]:
        """Poll the readers. Debouncing and the two-tap timeout run on the monotonic clock
        (they are about people at the station); the events get the node's time `now`."""
        out: list[Sample] = []
        mono = time.monotonic()
        if (lapsed := self.taps.tick(mono)) is not None:
            self._show(lapsed)
        view = self.view.current()
        for name, reader in self.readers.items():
            uid = self.debounce.update(name, self._poll(name, reader), mono)
            if uid is None:
                continue
            if uid.upper() in view.tools:
                kind, ident = "tool", uid.upper()
            else:  # a card: from here on only its pseudonym exists
                ident = pseudonym(self.key, uid)
                kind = "member" if ident in view.members else "unknown"
            outcome = self.taps.tap(kind, ident, mono, view)
            self._show(outcome)
            out += self._events(outcome)
        return out

    def _poll(self, name: str, reader: Any) -> str | None:
        """One reader's poll; a failing reader is a miss, so the others keep working. Only when
        every reader has been failing for a while is the station unavailable."""
        try:
            uid = reader.poll()
        except SensorError as exc:
            self.failing[name] = self.failing.get(name, 0) + 1
            if self.failing[name] == 1:
                log.warning("reader %s failing: %s", name, exc)
            if all(self.failing.get(n, 0) >= FAILING_POLLS for n in self.readers):
                raise SensorError(f"every reader is failing ({exc})") from exc
            return None
        if self.failing.pop(name, 0) >= 1:
            log.info("reader %s is back", name)
        return uid

    def _show(self, outcome: Outcome) -> None:
        log.info("%s%s%s", outcome.kind, f" tool {outcome.tool}" if outcome.tool else "",
                 f" member {outcome.member}" if outcome.member else "")
        self.feedback.show(outcome.kind)

    @staticmethod
    def _events(o: Outcome) -> list[Sample]:
        if o.kind in ("checkout", "checkin"):
            return [Sample(f"loan.{o.kind}", text=o.tool, ref=o.member)]
        if o.kind in ("refused", "overdue"):
            return [Sample("loan.refused", text=f"{o.tool}: {o.reason}", ref=o.member)]
        if o.kind == "unknown":
            return [Sample("card.unknown", text="card not enrolled", ref=o.member)]
        return []

    def close(self) -> None:
        for reader in self.readers.values():
            reader.close()
        if hasattr(self, "feedback"):
            self.feedback.close()


def simulate(opts: StationOptions, hw: FakeHardware) -> None:
    """Readers with no card in the field (a test may have attached its own)."""
    for r in opts.readers:
        if r.type == "rdm6300" and r.port is not None and r.port not in hw.ports:
            hw.attach_serial(r.port, FakeRdm6300())
        elif r.type == "pn532" and pn532.ADDRESS not in hw.i2c(r.bus).devices:
            pn532.attach_fake(hw, r.bus)
        elif r.type == "mfrc522":
            hw.spi_devices.setdefault((r.bus, r.device), FakeMFRC522())


DRIVERS = (Driver(
    type="tool_station", summary="tool-library station: RFID check-out / check-in, pseudonymous",
    parse=parse, open=ToolStation, quantities=lambda o: QUANTITIES, sample_config=SAMPLE_CONFIG,
    simulate=simulate),)
