"""Node side of the EIL stack: sensor drivers, the durable outbox and the node agent.

Nothing here imports polars or touches hardware at import time (Pi Zero 2 W budget)."""
