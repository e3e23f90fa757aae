"""The Raspberry Pi Pico wiring (MicroPython only: imports `machine`). Pin map:

  GP0  UART0 TX  -> Pi GPIO15 (RXD)          GP1  UART0 RX  <- Pi GPIO14 (TXD)
  GP26 ADC0      <- SCT-013 output on a 1.65 V bias (two 10 k resistors + 10 uF)
  GP27 ADC1      <- AC-AC 9 V adapter through a divider on the same bias (optional)
  GP28 ADC2      <- analog soil probe output (0-3 V)
  GP14           <- flow sensor pulses (5 V sensor: through a 10 k / 20 k divider)
  GP15           <- kWh meter S0 output (open collector, internal pull-up)
  ADC4 (internal)   RP2040 temperature sensor
"""

import array
import time

import machine

from .measure import PulseTally

UART_ID, UART_TX, UART_RX = 0, 0, 1
PIN_CT, PIN_VT, PIN_SOIL = 26, 27, 28
PIN_FLOW, PIN_METER = 14, 15
MAX_SAMPLES = 2400  # 12 cycles of 50 Hz at ~10 kHz: room for the default 10 cycles
FLOW_DEAD_MS = 2  # a YF-S201 pulses at up to ~250 Hz
METER_DEAD_MS = 50  # S0 pulses are at least 30 ms long


class PicoBoard:
    def __init__(self):
        self.ct = machine.ADC(PIN_CT)
        self.vt = machine.ADC(PIN_VT)
        self.soil = machine.ADC(PIN_SOIL)
        self.temp = machine.ADC(4)
        self._cur = array.array("H", bytes(2 * MAX_SAMPLES))  # made once, reused: 4.8 KB each
        self._vol = array.array("H", bytes(2 * MAX_SAMPLES))
        self.flow = PulseTally(FLOW_DEAD_MS)
        self.meter = PulseTally(METER_DEAD_MS)
        self._pins = []
        for pin, tally, pull in ((PIN_FLOW, self.flow, None), (PIN_METER, self.meter,
                                                               machine.Pin.PULL_UP)):
            p = machine.Pin(pin, machine.Pin.IN, pull)
            p.irq(trigger=machine.Pin.IRQ_FALLING,
                  handler=lambda _p, t=tally: t.hit(time.ticks_ms()))
            self._pins.append(p)

    def ct_samples(self, cycles, hz, with_voltage):
        """Sample for `cycles` whole mains cycles as fast as the loop allows (about 10 kHz),
        into two buffers made once (2 bytes a sample: a list of ints took ~16); returns
        memoryviews of the part filled. Sampling stops early if they fill."""
        span_us = cycles * 1_000_000 // hz
        cur, vol = self._cur, self._vol
        read_i, read_v = self.ct.read_u16, self.vt.read_u16
        n, size = 0, len(cur)
        start = time.ticks_us()
        while n < size and time.ticks_diff(time.ticks_us(), start) < span_us:
            cur[n] = read_i()
            if with_voltage:
                vol[n] = read_v()
            n += 1
        return memoryview(cur)[:n], (memoryview(vol)[:n] if with_voltage else None)

    def soil_raw(self):
        return sum(self.soil.read_u16() for _ in range(16)) // 16

    def temperature_raw(self):
        return self.temp.read_u16()


def uart(baudrate=115200):
    # rxbuf: frames keep arriving while a CT measurement holds the loop for ~200 ms
    return machine.UART(UART_ID, baudrate=baudrate, tx=machine.Pin(UART_TX),
                        rx=machine.Pin(UART_RX), rxbuf=2048, txbuf=1024, timeout=0)


class Uptime:
    """Milliseconds since boot that never wrap (time.ticks_ms wraps every ~12 days)."""

    def __init__(self):
        self.last = time.ticks_ms()
        self.total = 0

    def __call__(self):
        now = time.ticks_ms()
        self.total += time.ticks_diff(now, self.last)
        self.last = now
        return self.total
