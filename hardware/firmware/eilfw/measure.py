"""Measurement arithmetic of the firmware, free of hardware so the tests run it on the Pi.

SCT-013 clamp: the clamp's output (a voltage-output model, e.g. SCT-013-030: 30 A per 1 V RMS)
rides on a 1.65 V mid-rail bias into ADC0; ADC1 optionally sees a 9 V AC-AC adapter through a
divider as a voltage reference. The ADC is sampled over a whole number of mains cycles; the mean
is the bias, subtracted before squaring.
"""

import math

ADC_FULL = 65535  # read_u16() full scale
ADC_VREF = 3.3


def counts_to_volts(counts):
    return counts * ADC_VREF / ADC_FULL


def _centred(samples):
    mean = sum(samples) / len(samples)
    return [s - mean for s in samples]


def ct_power(current_raw, voltage_raw, amps_per_volt, volts_per_volt, assumed_volts, floor_amps):
    """(Irms A, real power W, apparent power VA, Vrms V or None) from raw ADC samples taken in
    step. Without a voltage reference, Vrms is `assumed_volts` and real power equals apparent
    power (a power factor of 1: an upper bound, said so in the docs)."""
    if not current_raw:
        raise ValueError("no current samples")
    amps_per_count = amps_per_volt * ADC_VREF / ADC_FULL
    i = _centred(current_raw)
    irms = math.sqrt(sum(x * x for x in i) / len(i)) * amps_per_count
    if irms < floor_amps:  # ADC noise on an idle clamp is not a load
        irms = 0.0
    if voltage_raw is None:
        apparent = assumed_volts * irms
        return irms, apparent, apparent, None
    if len(voltage_raw) != len(current_raw):
        raise ValueError("current and voltage sample counts differ")
    volts_per_count = volts_per_volt * ADC_VREF / ADC_FULL
    v = _centred(voltage_raw)
    vrms = math.sqrt(sum(x * x for x in v) / len(v)) * volts_per_count
    real = 0.0 if irms == 0.0 else (
        sum(a * b for a, b in zip(v, i)) / len(i) * volts_per_count * amps_per_count)
    return irms, real, vrms * irms, vrms


def rp2040_temperature(counts):
    """The RP2040's internal sensor (ADC4), per the RP2040 datasheet: 27 C at 0.706 V,
    -1.721 mV per degree."""
    return 27.0 - (counts_to_volts(counts) - 0.706) / 0.001721


class PulseTally:
    """Pulses counted in an interrupt handler, with a dead time against contact bounce."""

    def __init__(self, dead_ms):
        self.dead_ms = dead_ms
        self.count = 0
        self.last = None

    def hit(self, now_ms):
        if self.last is None or now_ms - self.last >= self.dead_ms:
            self.count += 1
            self.last = now_ms
