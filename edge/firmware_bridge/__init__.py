"""The node's side of the firmware bridge to a Raspberry Pi Pico (docs/firmware-bridge.md):
`codec` (frames: COBS + CRC-16/IBM-3740), `session` (handshake, acknowledgements, time sync; no
I/O), `transport` (the session on a pyserial port, with its reader thread) and `adapter` (the
Pico's channels as the `pico_bridge` sensor). The wire layouts come from the firmware's own
package, `eilfw` (hardware/firmware/eilfw), so both ends share one definition.
"""
