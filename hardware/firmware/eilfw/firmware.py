"""What the firmware does, on any board: every `interval_ms` it measures the enabled channels and
puts the readings into the link's ring; between measurements it keeps the link moving.

A board provides: ct_samples(cycles, hz, with_voltage) -> (current_raw, voltage_raw or None),
soil_raw(), temperature_raw(), and two PulseTally objects `flow` and `meter` that its pin
interrupts feed. board.py has the Pico's; the tests give it simulated ones.
"""

from . import measure, proto

DEFAULTS = {"interval_s": "10", "mains_hz": "50", "volts": "230", "voltage": "assumed",
            "ct_amps_per_volt": "30", "vt_volts_per_volt": "0", "ct_floor_amps": "0.05",
            "cycles": "10", "channels": "ct,flow,meter,soil,temp"}
GROUPS = {"ct": (proto.CH_IRMS, proto.CH_REAL_POWER, proto.CH_APPARENT_POWER),
          "flow": (proto.CH_FLOW_PULSES,), "meter": (proto.CH_METER_PULSES,),
          "soil": (proto.CH_SOIL_VOLTS,), "temp": (proto.CH_MCU_TEMP,)}


def parse_settings(settings):
    """Validated settings (strings in, numbers out), or ValueError naming the bad one."""
    merged = dict(DEFAULTS)
    for key in settings:
        if key not in DEFAULTS:
            raise ValueError("unknown setting %r" % key)
        merged[key] = settings[key]
    out = {}
    for key in ("interval_s", "volts", "ct_amps_per_volt", "vt_volts_per_volt", "ct_floor_amps"):
        try:
            out[key] = float(merged[key])
        except ValueError:
            raise ValueError("%s: %r is not a number" % (key, merged[key]))
    if not 0.5 <= out["interval_s"] <= 3600:
        raise ValueError("interval_s: %s is outside 0.5..3600" % merged["interval_s"])
    if merged["mains_hz"] not in ("50", "60"):
        raise ValueError("mains_hz: %r is not 50 or 60" % merged["mains_hz"])
    out["mains_hz"] = int(merged["mains_hz"])
    if merged["voltage"] not in ("assumed", "measured"):
        raise ValueError("voltage: %r is not assumed or measured" % merged["voltage"])
    out["voltage"] = merged["voltage"]
    if out["voltage"] == "measured" and out["vt_volts_per_volt"] <= 0:
        raise ValueError("vt_volts_per_volt: a measured voltage needs the divider's ratio")
    try:
        out["cycles"] = int(merged["cycles"])
    except ValueError:
        raise ValueError("cycles: %r is not a whole number" % merged["cycles"])
    if not 1 <= out["cycles"] <= 12:  # the board's sample buffers hold 12 cycles at ~10 kHz
        raise ValueError("cycles: %s is outside 1..12" % merged["cycles"])
    groups = [g for g in merged["channels"].split(",") if g]
    for g in groups:
        if g not in GROUPS:
            raise ValueError("channels: unknown group %r" % g)
    out["groups"] = groups
    return out


def channels_for(groups, voltage):
    chans = []
    for g in groups:
        chans.extend(GROUPS[g])
        if g == "ct" and voltage == "measured":
            chans.append(proto.CH_VRMS)
    return tuple(chans)


class Firmware:
    def __init__(self, board, link_factory, now_ms):
        """`link_factory(channels, on_config)` makes the Link (so its HELLO lists the channels)."""
        self.board = board
        self.now_ms = now_ms
        self.settings = parse_settings({})
        self.link = link_factory(channels_for(self.settings["groups"], "assumed"),
                                 self.configure)
        self.next_due = now_ms()

    def configure(self, settings):
        """CONFIG from the Pi: applied whole or not at all; returns an error text or None."""
        try:
            parsed = parse_settings(settings)
        except ValueError as exc:
            return str(exc)
        if parsed != self.settings:  # a repeated CONFIG (after a repeated hello) keeps the pace
            self.settings = parsed
            self.link.channels = channels_for(parsed["groups"], parsed["voltage"])
            self.next_due = self.now_ms()
        return None

    def measure(self, now):
        s, add, groups = self.settings, self.link.add, self.settings["groups"]
        if "ct" in groups:
            measured = s["voltage"] == "measured"
            i_raw, v_raw = self.board.ct_samples(s["cycles"], s["mains_hz"], measured)
            irms, real, apparent, vrms = measure.ct_power(
                i_raw, v_raw, s["ct_amps_per_volt"], s["vt_volts_per_volt"], s["volts"],
                s["ct_floor_amps"])
            add(proto.CH_IRMS, now, irms)
            add(proto.CH_REAL_POWER, now, real)
            add(proto.CH_APPARENT_POWER, now, apparent)
            if vrms is not None:
                add(proto.CH_VRMS, now, vrms)
        if "flow" in groups:
            add(proto.CH_FLOW_PULSES, now, self.board.flow.count)
        if "meter" in groups:
            add(proto.CH_METER_PULSES, now, self.board.meter.count)
        if "soil" in groups:
            add(proto.CH_SOIL_VOLTS, now, measure.counts_to_volts(self.board.soil_raw()))
        if "temp" in groups:
            add(proto.CH_MCU_TEMP, now, measure.rp2040_temperature(self.board.temperature_raw()))

    def step(self):
        """One pass of the main loop: measure when due, then move the link."""
        now = self.now_ms()
        if now >= self.next_due:
            self.next_due = now + int(self.settings["interval_s"] * 1000)
            try:
                self.measure(now)
            except Exception as exc:  # a failing sensor must not stop the link: tell the Pi
                self.link.log(3, "measurement failed: %r" % (exc,))
        self.link.poll()
