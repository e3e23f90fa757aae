"""The Pico firmware's package on the official MicroPython interpreter (its WebAssembly port:
tests/support/micropython.py), against the Pi's side on CPython: frames byte for byte in both
directions, the link through an injected transport with lost frames, a Pi restart while the
MCU's ring overflowed, a CONFIG that is not UTF-8, and the CT measurement at single precision
within the Pico's heap.

What the VM is not: a Pico. It computes in double precision (the Pico's rp2 build in single:
the measurement is checked against a float32 model here) and has no `machine` module (the
board's ADC and UART code, hardware/firmware/eilfw/board.py, still needs a real Pico)."""

from __future__ import annotations

import json
import math
import random
import struct
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.firmware_bridge.codec import Decoder, FrameError, encode
from edge.firmware_bridge.session import Session
from eilfw import measure, proto
from tests.firmware_bridge.test_firmware import commit
from tests.support.micropython import PICO_HEAP, MicroPython

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def vm() -> Iterator[MicroPython]:
    with MicroPython() as machine:
        machine.run("import binascii, json\nfrom eilfw import proto, measure\n"
                    "from eilfw.link import Link")
        yield machine


def payloads() -> list[tuple[int, int, bytes]]:
    """Every message type with a payload as its sender packs it, plus the edge cases."""
    records = b"".join(proto.pack_record(ch, 1000 * k, 1.5 * k if ch != 5 else k)
                       for k, ch in zip(range(proto.MAX_BATCH), [1, 2, 5, 8] * 20, strict=False))
    return [
        (proto.HELLO, 0, proto.pack_hello(0xB007, 123456, 10, 20, (1, 2, 3, 5), "eilfw 1.0")),
        (proto.WELCOME, 1, proto.pack_u32s(0xB007, 20, 15)),
        (proto.READINGS, 2, proto.pack_readings(0xB007, 10, 10, records)),
        (proto.READINGS, 3, proto.pack_readings(0xB007, 0, 0, proto.pack_record(1, 7, 0.25))),
        (proto.ACK, 0xFFFF, proto.pack_u32s(0xFFFFFFFF, 2**32 - 1, 0)),
        (proto.NACK, 5, proto.pack_u32s(0xB007, 42)),
        (proto.TIME_REQ, 6, proto.pack_u32s(77)),
        (proto.TIME_REPLY, 7, proto.pack_u32s(77, 99999)),
        (proto.CONFIG, 8, proto.pack_config({"interval_s": "10", "channels": "ct,temp"})),
        (proto.CONFIG_ACK, 9, proto.pack_text(1, "mains_hz: '55' is not 50 or 60")),
        (proto.LOG, 10, proto.pack_text(2, "zażółć gęślą jaźń")),
        (proto.RESYNC, 11, b""),
        (proto.LOG, 12, b""),  # empty payload
        (proto.CONFIG, 13, bytes(proto.MAX_PAYLOAD)),  # the largest, all zeros (COBS' worst)
        (proto.LOG, 14, bytes(range(256)) + bytes(range(224))),  # the largest, every byte
    ]


def test_frames_encoded_on_micropython_are_the_pis_byte_for_byte(vm: MicroPython) -> None:
    cases = payloads()
    got = json.loads(vm.run("print(json.dumps([binascii.hexlify(proto.encode_frame(t, s, "
                            "binascii.unhexlify(p))).decode() for t, s, p in "
                            f"{[(t, s, p.hex()) for t, s, p in cases]!r}]))"))
    assert got == [encode(t, s, p).hex() for t, s, p in cases]


def test_frames_the_pi_encodes_decode_on_micropython_and_corrupt_ones_are_refused(
        vm: MicroPython) -> None:
    cases = payloads()
    stream = b"".join(encode(t, s, p) for t, s, p in cases)
    decoded = json.loads(vm.run(
        f"sp = proto.Splitter()\nout = []\n"
        f"for chunk in sp.feed(binascii.unhexlify('{stream.hex()}')):\n"
        f"    t, s, p = proto.decode_frame(chunk)\n"
        f"    out.append([t, s, binascii.hexlify(p).decode()])\n"
        f"print(json.dumps(out))"))
    assert decoded == [[t, s, p.hex()] for t, s, p in cases]
    rng = random.Random(8428)
    corrupted = []
    for t, s, p in cases:  # one flipped bit inside each frame (not a delimiter)
        frame = bytearray(encode(t, s, p))
        i = rng.randrange(1, len(frame) - 1)
        frame[i] ^= 1 << rng.randrange(8)
        corrupted.append(bytes(frame))
    verdicts = json.loads(vm.run(
        "out = []\n"
        f"for f in {[c.hex() for c in corrupted]!r}:\n"
        "    sp = proto.Splitter()\n"
        "    for chunk in sp.feed(binascii.unhexlify(f)):\n"
        "        try:\n"
        "            proto.decode_frame(chunk)\n"
        "            out.append('ok')\n"
        "        except ValueError as exc:\n"
        "            out.append('bad')\n"
        "print(json.dumps(out))"))
    pi = ["bad" if isinstance(f, FrameError) else "ok"
          for c in corrupted for f in Decoder().feed(c)]
    assert verdicts == pi and set(pi) == {"bad"}  # CRC-16 catches every single-bit error


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 11), st.integers(0, 0xFFFF),
                          st.binary(max_size=proto.MAX_PAYLOAD)), min_size=1, max_size=4))
def test_any_frame_round_trips_between_the_two_sides(vm: MicroPython,
                                                     frames: list[tuple[int, int, bytes]]
                                                     ) -> None:
    stream = b"".join(encode(t, s, p) for t, s, p in frames)
    out = json.loads(vm.run(
        "out = []\n"
        f"for chunk in proto.Splitter().feed(binascii.unhexlify('{stream.hex()}')):\n"
        "    t, s, p = proto.decode_frame(chunk)\n"
        "    out.append(binascii.hexlify(proto.encode_frame(t, s, p)).decode())\n"
        "print(json.dumps(out))"))
    assert out == [encode(t, s, p).hex() for t, s, p in frames]


class VmLoop:
    """The firmware's Link in the MicroPython VM, the Pi's Session here, wired back to back
    through an injected transport on one fake clock (as test_firmware.py's Loop on CPython)."""

    def __init__(self, vm: MicroPython, capacity: int = 100,
                 resume: tuple[int, int] | None = None, session: bool = True) -> None:
        self.vm, self.ms = vm, 0
        self.up = True
        self.drop_next_batch = False
        self.decoder = Decoder()
        vm.run("sent = []\nclock = [0]\n"
               f"link = Link(sent.append, lambda: clock[0], 0xB007, (1, 5), capacity={capacity}, "
               "rto_ms=500)\n"
               "def step(data):\n"
               "    clock[0] += 10\n"
               "    if data:\n"
               "        link.receive(binascii.unhexlify(data))\n"
               "    link.poll()\n"
               "    out = b''.join(sent)\n"
               "    sent.clear()\n"
               "    print(binascii.hexlify(out).decode())")
        self.to_mcu: list[bytes] = []
        self.session = Session(lambda t, p: self.to_mcu.append(encode(t, 0, p)), resume,
                               monotonic=lambda: self.ms / 1000)

    def restart_pi(self, resume: tuple[int, int]) -> None:
        self.decoder = Decoder()
        self.to_mcu = []
        self.session = Session(lambda t, p: self.to_mcu.append(encode(t, 0, p)), resume,
                               monotonic=lambda: self.ms / 1000)

    def link(self, expr: str) -> int:
        return int(self.vm.run(f"print({expr})"))

    def add(self, channel: int, tick: int, value: float) -> None:
        self.vm.run(f"link.add({channel}, {tick}, {value!r})")

    def run(self, ms: int) -> None:
        for _ in range(ms // 10):
            self.ms += 10
            data = b"".join(self.to_mcu)
            self.to_mcu = []
            out = bytes.fromhex(self.vm.run(f"step('{data.hex()}')").strip())
            frames = self.decoder.feed(out)
            if not self.up:
                continue
            if self.drop_next_batch and any(f.type == proto.READINGS for f in frames
                                            if not isinstance(f, FrameError)):
                self.drop_next_batch = False
                continue
            for f in frames:
                self.session.on_frame(f)
            self.session.poll()

    def commit(self) -> list[int]:
        return commit(self.session)


def test_the_link_recovers_a_dropped_batch_and_frees_only_what_is_committed(
        vm: MicroPython) -> None:
    loop = VmLoop(vm)
    loop.run(50)
    loop.drop_next_batch = True
    for k in range(3):
        loop.add(1, k, 0.5 * k)
    loop.run(10)  # that batch is lost on the line
    for k in range(3, 6):
        loop.add(1, k, 0.5 * k)
    loop.run(100)
    assert loop.session.stats.nacks == 1  # the gap was seen and the MCU went back
    assert loop.link("link.oldest") == 0  # received, not yet durable: still held
    assert loop.commit() == list(range(6))
    loop.run(30)
    assert (loop.link("link.oldest"), loop.link("link.held")) == (6, 0)


def test_a_silent_pi_gets_the_batch_again_after_the_retransmission_timeout(
        vm: MicroPython) -> None:
    loop = VmLoop(vm)
    loop.run(50)
    loop.up = False  # frames to the Pi vanish
    for k in range(4):
        loop.add(5, k, k)
    loop.run(100)
    loop.up = True
    loop.run(1500)
    assert loop.link("link.retransmits") >= 1
    assert loop.commit() == [0, 1, 2, 3]


def test_readings_overwritten_while_the_pi_restarted_are_counted_and_reported(
        vm: MicroPython) -> None:
    """A Pi restart during a long MCU buffer: nothing may vanish without a word."""
    loop = VmLoop(vm, capacity=5)
    for k in range(3):
        loop.add(1, 1000 + k, 1.0)
    loop.run(100)
    assert loop.commit() == [0, 1, 2]  # the outbox's mark is (boot, 3)
    loop.run(30)
    loop.up = False  # the Pi restarts: a long time, the ring overflows
    for k in range(3, 11):
        loop.add(1, 1000 + k, 1.0)
    loop.run(30)
    assert (loop.link("link.oldest"), loop.link("link.head")) == (6, 11)
    loop.restart_pi((0xB007, 3))
    loop.up = True
    loop.vm.run("link.welcomed = False\nlink.last_hello = None")  # the Pi's RESYNC, delivered
    loop.run(600)
    assert loop.commit() == [6, 7, 8, 9, 10]
    assert loop.session.stats.lost_at_mcu == 3
    ((key, text, ref, at),) = loop.session.events
    assert (key, ref) == ("mcu.gap", "0000b007")
    assert text == "3 readings lost in the MCU buffer (seq 3..5), measured before this event"
    assert at == pytest.approx(loop.session.sync.mono(1006), abs=0.02)


def test_a_config_that_is_not_utf8_is_refused_not_applied(vm: MicroPython) -> None:
    vm.run("acks = []\n"
           "cfg_link = Link(acks.append, lambda: 0, 7, (1,), on_config=lambda s: None)\n"
           "cfg_link.welcomed = True\n"
           "def ack_of(payload):\n"
           "    acks.clear()\n"
           "    cfg_link.receive(proto.encode_frame(proto.CONFIG, 0, payload))\n"
           "    for chunk in proto.Splitter().feed(b''.join(acks)):\n"
           "        t, s, p = proto.decode_frame(chunk)\n"
           "        print(json.dumps(list(proto.unpack_text(p))))")
    bad = json.loads(vm.run("ack_of(b'interval_s=\\xff\\xfe')"))
    assert bad == [1, "config is not UTF-8 text"]
    assert json.loads(vm.run("ack_of(b'interval_s=10')")) == [0, "applied"]
    assert json.loads(vm.run("ack_of(b'no equals sign')")) == [
        1, "config line 'no equals sign' is not key=value"]


def f32(x: float) -> float:
    """x rounded to the nearest float32 (IEEE: what single-precision hardware gives for each
    operation, sqrt included, when the exact result is rounded once)."""
    return float(struct.unpack("<f", struct.pack("<f", x))[0])


def float32_model(i_raw: list[int], v_raw: list[int], apv: float, vpv: float
                  ) -> tuple[float, float, float, float]:
    """The measurement as the Pico's single-precision build computes it: the exact integer
    sums of the 12-bit counts (ints are exact on both), then every float operation rounded to
    float32, in the firmware's order."""
    i12 = [(x >> 4) - 2048 for x in i_raw]
    v12 = [(x >> 4) - 2048 for x in v_raw]
    n = len(i12)
    si, sv = sum(i12), sum(v12)
    sii, svv = sum(x * x for x in i12), sum(x * x for x in v12)
    siv = sum(a * b for a, b in zip(i12, v12, strict=True))
    nn = f32(n * n)
    a_per = f32(f32(apv * f32(3.3)) / f32(4095))
    v_per = f32(f32(vpv * f32(3.3)) / f32(4095))
    irms = f32(f32(math.sqrt(f32(f32(n * sii - si * si) / nn))) * a_per)
    vrms = f32(f32(math.sqrt(f32(f32(n * svv - sv * sv) / nn))) * v_per)
    real = f32(f32(f32(f32(n * siv - si * sv) / nn) * v_per) * a_per)
    return irms, real, f32(vrms * irms), vrms


def clamp_samples(pairs: int) -> tuple[list[int], list[int]]:
    """10 cycles of a 30 A clamp at 9.6 A behind a lagging load, with ADC noise, as the
    RP2040's 12-bit ADC gives them through read_u16."""
    rng = random.Random(2040)
    i_raw, v_raw = [], []
    for k in range(pairs):
        phase = 2 * math.pi * k / (pairs / 10)
        i = round(2048 + 562 * math.sin(phase - 0.5) + rng.gauss(0, 0.7))
        v = round(2038 + 875 * math.sin(phase) + rng.gauss(0, 0.7))
        i_raw.append(i << 4 | i >> 8)
        v_raw.append(v << 4 | v >> 8)
    return i_raw, v_raw


def test_a_ct_measurement_holds_at_single_precision_within_the_picos_heap() -> None:
    """2,000 pairs measured in the Pico's heap (the VM started with it must not grow) and the
    result within float32's rounding of the model above and of CPython's double result."""
    i_raw, v_raw = clamp_samples(2000)
    with MicroPython(heap=PICO_HEAP) as small:
        small.run("import gc, array, json\nfrom eilfw import measure\ngc.collect()")
        start = small.heap_total()
        small.put("/i.bin", struct.pack(f"<{len(i_raw)}H", *i_raw))  # as the ADC fills them
        small.put("/v.bin", struct.pack(f"<{len(v_raw)}H", *v_raw))
        small.run("i = array.array('H', open('/i.bin', 'rb').read())\n"
                  "v = array.array('H', open('/v.bin', 'rb').read())\ngc.collect()")
        loaded = small.heap_total()
        out = json.loads(small.run(
            "gc.collect()\nbefore = gc.mem_alloc()\n"
            "r = measure.ct_power(i, v, 30.0, 300.0, 230.0, 0.05)\n"
            "after = gc.mem_alloc()\n"
            "print(json.dumps([list(r), after - before]))"))
        assert small.heap_total() == loaded == start <= PICO_HEAP + 1024  # it never had to grow
    got, allocated = out
    double = measure.ct_power(i_raw, v_raw, 30.0, 300.0, 230.0, 0.05)
    model = float32_model(i_raw, v_raw, 30.0, 300.0)
    for mp, model_x, double_x in zip(got, model, double, strict=True):
        assert mp == pytest.approx(model_x, rel=2e-6)  # the VM's double vs the Pico's single
        assert double_x == pytest.approx(mp, rel=1e-12)  # the same arithmetic on both
    irms = 562 / math.sqrt(2) * 30 * 3.3 / 4095  # the clamp's sine: 9.61 A
    vrms = 875 / math.sqrt(2) * 300 * 3.3 / 4095  # 149.6 V
    assert got[0] == pytest.approx(irms, rel=1e-3) and got[3] == pytest.approx(vrms, rel=1e-3)
    assert got[1] == pytest.approx(vrms * irms * math.cos(0.5), rel=2e-3)  # lagging by 0.5 rad
    assert allocated < 8 * 1024, allocated  # streaming sums: no copy of the samples


def test_every_message_packer_agrees_with_the_pis(vm: MicroPython) -> None:
    """The payload packers run on MicroPython give the bytes CPython's give (struct's float32
    rounding included)."""
    got = json.loads(vm.run(
        "print(json.dumps([binascii.hexlify(x).decode() for x in ["
        "proto.pack_hello(1, 2, 3, 4, (1, 8), 'fw'), proto.pack_record(1, 5, 1.1), "
        "proto.pack_record(5, 6, 4294967295), proto.pack_config({'a': 'b', 'c': 'd'}), "
        "proto.pack_text(3, 'é'), proto.pack_u32s(1, 2, 3)]]))"))
    want = [proto.pack_hello(1, 2, 3, 4, (1, 8), "fw"), proto.pack_record(1, 5, 1.1),
            proto.pack_record(5, 6, 4294967295), proto.pack_config({"a": "b", "c": "d"}),
            proto.pack_text(3, "é"), proto.pack_u32s(1, 2, 3)]
    assert got == [w.hex() for w in want]
    assert struct.unpack("<f", bytes.fromhex(got[1])[5:])[0] == f32(1.1)
