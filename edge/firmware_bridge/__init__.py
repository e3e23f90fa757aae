"""Framed serial link to a microcontroller (COBS + CRC), so MCU channels appear as sensors.

Not implemented yet (see the firmware-bridge issue); nothing imports this package.
"""
