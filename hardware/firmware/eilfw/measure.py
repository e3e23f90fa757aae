"""Measurement arithmetic of the firmware, free of hardware so the tests run it on the Pi.

SCT-013 clamp: the clamp's output (a voltage-output model, e.g. SCT-013-030: 30 A per 1 V RMS)
rides on a 1.65 V mid-rail bias into ADC0; ADC1 optionally sees a 9 V AC-AC adapter through a
divider as a voltage reference. The ADC is sampled over a whole number of mains cycles; the mean
is the bias, subtracted before squaring.

The RP2040's ADC has 12 bits: `read_u16()` gives them shifted up by four with the top four
repeated below (raw << 4 | raw >> 8), so `x >> 4` is the ADC's own count, exactly. The sums
are taken on those counts, centred on mid-scale, in small integers: exact on any interpreter
(the Pico's floats are single precision), and allocating nothing per sample on MicroPython,
whose floats and large integers are heap objects (a 2,000-pair measurement once kept ~97 KB
of floats alive and allocated ~305 KB).
"""

import math

ADC_FULL = 65535  # read_u16() full scale
ADC_BITS_FULL = 4095  # the ADC's own 12-bit full scale
ADC_VREF = 3.3
_MID = 2048
_CHUNK = 255  # 255 products of 12-bit centred counts (< 2^22 each) stay under 2^30: small ints


def counts_to_volts(counts):
    return counts * ADC_VREF / ADC_FULL


def _sums(a, b):
    """n, sum a, sum a*a, sum b, sum b*b, sum a*b of the 12-bit counts centred on mid-scale,
    over two sample sequences in step (b may be None): partial sums of up to _CHUNK samples
    in small integers, added into the totals once per chunk."""
    n = len(a)
    sa = saa = sb = sbb = sab = 0
    k = 0
    while k < n:
        end = min(n, k + _CHUNK)
        pa = paa = pb = pbb = pab = 0
        if b is None:
            while k < end:
                x = (a[k] >> 4) - _MID
                pa += x
                paa += x * x
                k += 1
        else:
            while k < end:
                x = (a[k] >> 4) - _MID
                y = (b[k] >> 4) - _MID
                pa += x
                paa += x * x
                pb += y
                pbb += y * y
                pab += x * y
                k += 1
        sa += pa
        saa += paa
        sb += pb
        sbb += pbb
        sab += pab
    return n, sa, saa, sb, sbb, sab


def ct_power(current_raw, voltage_raw, amps_per_volt, volts_per_volt, assumed_volts, floor_amps):
    """(Irms A, real power W, apparent power VA, Vrms V or None) from raw `read_u16()` samples
    taken in step (lists, arrays or memoryviews). Without a voltage reference, Vrms is
    `assumed_volts` and real power equals apparent power (a power factor of 1: an upper bound,
    said so in the docs).

    The mean (the bias) is removed exactly: n^2 var = n sum x^2 - (sum x)^2 in integers, and
    likewise the covariance; only the last few operations are floats."""
    if not current_raw:
        raise ValueError("no current samples")
    if voltage_raw is not None and len(voltage_raw) != len(current_raw):
        raise ValueError("current and voltage sample counts differ")
    n, si, sii, sv, svv, siv = _sums(current_raw, voltage_raw)
    nn = float(n * n)
    amps_per_count = amps_per_volt * ADC_VREF / ADC_BITS_FULL
    irms = math.sqrt((n * sii - si * si) / nn) * amps_per_count
    if irms < floor_amps:  # ADC noise on an idle clamp is not a load
        irms = 0.0
    if voltage_raw is None:
        apparent = assumed_volts * irms
        return irms, apparent, apparent, None
    volts_per_count = volts_per_volt * ADC_VREF / ADC_BITS_FULL
    vrms = math.sqrt((n * svv - sv * sv) / nn) * volts_per_count
    real = 0.0 if irms == 0.0 else (n * siv - si * sv) / nn * volts_per_count * amps_per_count
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
