"""Pico entry point (copied to the board's root by `mpremote`; see hardware/firmware/README.md)."""

import os
import struct
import time

import machine

from eilfw import board
from eilfw.firmware import Firmware
from eilfw.link import Link

VERSION = "eilfw 1.0"


def run():
    uart = board.uart()
    uptime = board.Uptime()
    boot = struct.unpack("<I", os.urandom(4))[0]
    pico = board.PicoBoard()
    fw = Firmware(pico, lambda channels, on_config: Link(uart.write, uptime, boot, channels,
                                                         VERSION, on_config=on_config), uptime)
    wdt = machine.WDT(timeout=8000)  # a hung loop reboots; the Pi resumes from its outbox
    while True:
        data = uart.read()
        if data:
            fw.link.receive(data)
        fw.step()
        wdt.feed()
        time.sleep_ms(5)


run()
