"""The firmware's side of a bridge session: a ring buffer of readings with sequence numbers,
the hello handshake, a sliding window with cumulative acknowledgements, go-back retransmission,
time-sync replies and configuration.

Pure protocol logic in the MicroPython/CPython subset: the caller supplies `write(bytes)` and
`now_ms()` (milliseconds since boot, never wrapping). app.py wires them to the UART on the Pico;
the tests run this same code against the Pi over a pseudo-terminal.

A reading leaves the ring only when the Pi says it is durable (committed to the node's outbox),
so a Pi that is down or restarting loses nothing until the ring is full; then the oldest readings
are overwritten and the next batch tells the Pi how many it missed.
"""

from . import proto


class Link:
    def __init__(self, write, now_ms, boot, channels, firmware="eilfw", capacity=3000, window=4,
                 rto_ms=1500, hello_ms=1000, on_config=None):
        self.write = write
        self.now_ms = now_ms
        self.boot = boot & 0xFFFFFFFF  # random per boot: tells the Pi this is a new ring
        self.channels = channels
        self.firmware = firmware
        self.capacity = capacity
        self.ring = bytearray(capacity * proto.RECORD_SIZE)
        self.oldest = 0  # oldest seq still held
        self.head = 0  # seq the next reading gets
        self.send_from = 0  # next seq to transmit
        self.rx_next = 0  # the Pi has received everything below this
        self.window = window * proto.MAX_BATCH  # readings in flight without acknowledgement
        self.rto_base = rto_ms
        self.rto = rto_ms
        self.hello_ms = hello_ms
        self.on_config = on_config
        self.welcomed = False
        self.last_hello = None
        self.last_progress = now_ms()
        self.tx_seq = 0
        self.splitter = proto.Splitter()
        self.dropped = 0  # readings overwritten in a full ring
        self.bad_frames = 0
        self.retransmits = 0

    # --- readings ---------------------------------------------------------------------------
    def add(self, channel, tick_ms, value):
        at = (self.head % self.capacity) * proto.RECORD_SIZE
        self.ring[at:at + proto.RECORD_SIZE] = proto.pack_record(channel, tick_ms, value)
        self.head += 1
        if self.head - self.oldest > self.capacity:
            self.oldest = self.head - self.capacity
            self.dropped += 1
            if self.send_from < self.oldest:
                self.send_from = self.oldest
            if self.rx_next < self.oldest:
                self.rx_next = self.oldest

    @property
    def held(self):
        return self.head - self.oldest

    def _records(self, first, count):
        out = bytearray()
        for seq in range(first, first + count):
            at = (seq % self.capacity) * proto.RECORD_SIZE
            out += self.ring[at:at + proto.RECORD_SIZE]
        return out

    # --- sending ----------------------------------------------------------------------------
    def send(self, typ, payload=b""):
        self.write(proto.encode_frame(typ, self.tx_seq, payload))
        self.tx_seq = (self.tx_seq + 1) & 0xFFFF

    def log(self, level, text):
        self.send(proto.LOG, proto.pack_text(level, text))

    def _hello(self, now):
        self.send(proto.HELLO, proto.pack_hello(self.boot, now, self.oldest, self.head,
                                                self.channels, self.firmware))
        self.last_hello = now

    def poll(self):
        """Call often (every few ms to every 100 ms): sends hellos, batches and retransmissions."""
        now = self.now_ms()
        if not self.welcomed:
            if self.last_hello is None or now - self.last_hello >= self.hello_ms:
                self._hello(now)
            return
        if self.send_from > self.rx_next and now - self.last_progress >= self.rto:
            # no acknowledgement in time: go back to the first unacknowledged reading
            self.send_from = max(self.rx_next, self.oldest)
            self.retransmits += 1
            self.last_progress = now
            self.rto = min(2 * self.rto, 8 * self.rto_base)  # a Pi that is down gets less noise
        while self.send_from < self.head and self.send_from - self.rx_next < self.window:
            count = min(proto.MAX_BATCH, self.head - self.send_from)
            first = self.send_from
            if first == self.rx_next:
                self.last_progress = now  # the timer runs from the first outstanding batch
            self.send_from = first + count
            self.send(proto.READINGS, proto.pack_readings(
                self.boot, self.oldest, first, self._records(first, count)))

    # --- receiving --------------------------------------------------------------------------
    def receive(self, data):
        for chunk in self.splitter.feed(data):
            try:
                typ, _seq, payload = proto.decode_frame(chunk)
                self._handle(typ, payload)
            except ValueError:
                self.bad_frames += 1  # the Pi's retransmission or ours recovers

    def _acknowledged(self, received, durable):
        received = min(received, self.head)
        durable = min(durable, received)
        if durable > self.oldest:
            self.oldest = durable  # the Pi has committed these: free their slots
        if received > self.rx_next:
            self.rx_next = received
            self.last_progress = self.now_ms()
            self.rto = self.rto_base
        if self.rx_next < self.oldest:
            self.rx_next = self.oldest
        if self.send_from < self.rx_next:
            self.send_from = self.rx_next

    def _handle(self, typ, payload):
        if typ == proto.WELCOME or typ == proto.ACK:
            boot, received, durable = proto.unpack_u32s(payload, 3, "ack")
            if boot != self.boot:
                return  # about an earlier boot of ours
            if typ == proto.WELCOME:
                self.welcomed = True
                self.send_from = self.rx_next = max(min(received, self.head), self.oldest)
                self.last_progress = self.now_ms()
            if self.welcomed:
                self._acknowledged(received, durable)
        elif typ == proto.NACK:
            boot, expected = proto.unpack_u32s(payload, 2, "nack")
            if boot == self.boot and self.welcomed:
                self.send_from = self.rx_next = max(min(expected, self.head), self.oldest)
                self.last_progress = self.now_ms()
        elif typ == proto.TIME_REQ:
            (token,) = proto.unpack_u32s(payload, 1, "time_req")
            self.send(proto.TIME_REPLY, proto.pack_u32s(token, self.now_ms() & 0xFFFFFFFF))
        elif typ == proto.CONFIG:
            error = None
            try:
                settings = proto.unpack_config(payload)
                if self.on_config is not None:
                    error = self.on_config(settings)
            except ValueError as exc:  # UnicodeError too: a subclass on both interpreters
                # MicroPython's UnicodeError carries no message: an empty text is no success
                error = str(exc) or "%s in the settings" % type(exc).__name__
            if error is None:
                self.send(proto.CONFIG_ACK, proto.pack_text(0, "applied"))
            else:
                self.send(proto.CONFIG_ACK, proto.pack_text(1, str(error) or "refused"))
        elif typ == proto.RESYNC:
            self.welcomed = False  # the Pi (re)started: introduce ourselves again
            self.last_hello = None
