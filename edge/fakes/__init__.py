"""First-class fakes of hardware buses, so the real driver code runs without the kit (tests,
and a steward trying a config on a laptop)."""
