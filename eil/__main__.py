from eil.cli import main

if __name__ == "__main__":  # not when a spawned process (a sink's) imports it as __mp_main__
    raise SystemExit(main())
