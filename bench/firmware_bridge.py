"""Firmware bridge throughput: frames and readings per second the Pi side sustains over a pty,
with the MCU side paced to a real UART's byte rate (a pty itself has no baud rate), and the
Pi's CPU time per frame: over the pty (reader thread, decoder, session, acks, commits) and for
decoding and session work alone on frames held in memory (the headroom above the line rate).

The MCU runs the firmware's Link in a child process and keeps its ring full (a Pico catching up
after the Pi was away: the worst case); the parent runs the Bridge through pyserial and commits
what it takes every 0.2 s, as the node agent does.

    .venv/bin/python -m bench.firmware_bridge [--baud 115200] [--duration 10]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import select
import time
import tty

import serial

from edge.firmware_bridge.transport import READ_TIMEOUT_S, Bridge
from eilfw import proto
from eilfw.link import Link


def mcu(master: int, baud: int, duration: float) -> None:
    start = time.monotonic()
    budget = {"sent": 0}

    def now_ms() -> int:
        return int((time.monotonic() - start) * 1000)

    def paced_write(data: bytes) -> None:
        budget["sent"] += len(data)
        ahead = budget["sent"] * 10 / baud - (time.monotonic() - start)  # 10 bits per byte
        if ahead > 0:
            time.sleep(ahead)
        os.write(master, data)

    link = Link(paced_write, now_ms, 0xBE7C, (proto.CH_IRMS,), capacity=4000)
    value = 0.0
    while time.monotonic() - start < duration + 2:
        while link.held < link.capacity - 10:  # keep the ring full
            value += 1.0
            link.add(proto.CH_IRMS, now_ms(), value)
        ready, _, _ = select.select([master], [], [], 0.001)
        if ready:
            link.receive(os.read(master, 4096))
        link.poll()


def run(baud: int, duration: float) -> dict[str, float]:
    master, slave = os.openpty()
    tty.setraw(slave)
    child = mp.get_context("fork").Process(target=mcu, args=(master, baud, duration), daemon=True)
    child.start()
    bridge = Bridge(serial.Serial(os.ttyname(slave), baud, timeout=READ_TIMEOUT_S))
    time.sleep(1.0)  # handshake and first time sync
    bridge.take()
    frames0, readings0 = bridge.stats.frames, bridge.stats.readings
    cpu0, t0 = time.process_time(), time.monotonic()
    while time.monotonic() - t0 < duration:
        time.sleep(0.2)
        _, mark = bridge.take()
        if mark:
            bridge.committed(mark)
    elapsed, cpu = time.monotonic() - t0, time.process_time() - cpu0
    frames, readings = bridge.stats.frames - frames0, bridge.stats.readings - readings0
    bridge.close()
    child.terminate()
    os.close(master)
    os.close(slave)
    return {"frames_s": frames / elapsed, "readings_s": readings / elapsed,
            "cpu_us_frame": 1e6 * cpu / max(frames, 1), "cpu_us_reading": 1e6 * cpu / max(readings, 1)}


def in_memory(frames: int = 2000) -> float:
    """CPU microseconds per full READINGS frame through decoder and session, no I/O."""
    from edge.firmware_bridge.codec import Decoder, encode
    from edge.firmware_bridge.session import Session

    session = Session(lambda t, p: None, resume=(0xBE7C, 0))
    session.on_frame(Decoder().feed(encode(proto.HELLO, 0, proto.pack_hello(
        0xBE7C, 0, 0, 0, (proto.CH_IRMS,), "bench")))[0])
    wire = []
    for k in range(frames):
        records = b"".join(proto.pack_record(proto.CH_IRMS, k, float(i)) for i in range(proto.MAX_BATCH))
        wire.append(encode(proto.READINGS, k, proto.pack_readings(0xBE7C, 0, k * proto.MAX_BATCH, records)))
    decoder = Decoder()
    cpu0 = time.process_time()
    for data in wire:
        for frame in decoder.feed(data):
            session.on_frame(frame)
    cpu = time.process_time() - cpu0
    assert session.stats.readings == frames * proto.MAX_BATCH
    return 1e6 * cpu / frames


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--duration", type=float, default=10.0)
    args = ap.parse_args()
    full = len(proto.encode_frame(proto.READINGS, 0, bytes(proto.BATCH_HEAD_SIZE + proto.MAX_BATCH * 9)))
    r = run(args.baud, args.duration)
    print(f"{args.baud} baud over a pty, {proto.MAX_BATCH} readings per full frame of {full} bytes:")
    print(f"  {r['frames_s']:.1f} frames/s, {r['readings_s']:.0f} readings/s, line "
          f"{100 * r['frames_s'] * full * 10 / args.baud:.0f} % busy with readings")
    print(f"  Pi CPU {r['cpu_us_frame']:.0f} us/frame ({r['cpu_us_reading']:.1f} us/reading) incl. "
          "reader thread, acks and commits")
    us = in_memory()
    print(f"  decode + session alone: {us:.0f} us/frame ({us / proto.MAX_BATCH:.1f} us/reading): "
          f"{1e6 / us:.0f} frames/s of headroom on this core")


if __name__ == "__main__":
    main()
