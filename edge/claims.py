"""What hardware a sensor's config takes for itself: an I2C address on a bus (a channel of it
for a multi-channel converter shared by several sensors), a GPIO pin, a serial port, an SPI
chip select. Two sensors of one node claiming the same thing would read each other's chip or
fight over a pin: the node's config loader and `eil site add-node` refuse that, naming both.

Pure: options in, claims out. Which option names mean what is said here once for every
driver (their sample configs use these names)."""

from __future__ import annotations

from typing import Any

PIN_KEYS = ("pin", "led_ok", "led_error", "buzzer")  # and any option named *_pin
READER_ADDRESS = {"pn532": 0x24}  # the tool station's I2C readers and their fixed address


def _i2c(opts: dict[str, Any], default_address: int | None = None) -> list[str]:
    address = opts.get("address", default_address)
    if not isinstance(address, int) or isinstance(address, bool):
        return []
    claim = f"I2C bus {opts.get('bus', 1)} address 0x{address:02x}"
    if isinstance(opts.get("channel"), int):  # one channel of a shared converter (ADS1115)
        claim += f" channel {opts['channel']}"
    return [claim]


def claims(options: dict[str, Any]) -> list[str]:
    """The hardware one sensor's options claim, each as a sentence a steward reads."""
    out = _i2c(options)
    for key, value in options.items():
        if (key in PIN_KEYS or key.endswith("_pin")) and isinstance(value, int) \
                and not isinstance(value, bool):
            out.append(f"GPIO {value}")
    if isinstance(options.get("port"), str):
        out.append(f"serial port {options['port']}")
    for reader in options.get("readers", []) if isinstance(options.get("readers"), list) else []:
        if not isinstance(reader, dict):
            continue
        kind = reader.get("type")
        if kind in READER_ADDRESS:
            out += _i2c(reader, READER_ADDRESS[kind])
        elif kind == "mfrc522":
            out.append(f"SPI bus {reader.get('bus', 0)} chip select {reader.get('device', 0)}")
        if isinstance(reader.get("port"), str):
            out.append(f"serial port {reader['port']}")
    return out


def first_clash(sensors: list[tuple[str, dict[str, Any]]]) -> tuple[str, str, str] | None:
    """(claim, the first sensor's label, the second's) of the first hardware two sensors
    claim, among (label, options) pairs in order; None when all differ."""
    owner: dict[str, str] = {}
    for label, options in sensors:
        for claim in claims(options):
            if claim in owner:
                return claim, owner[claim], label
            owner[claim] = label
    return None
