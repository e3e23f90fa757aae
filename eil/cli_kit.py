"""`eil kit KIND` (a kit's bill of materials, wiring and power budget for a latitude) and
`eil kit render DIR` (every kit's page, as hardware/kits/*.md are made)."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_LATITUDE = 50.85  # the demo site's (Brussels): the kit pages are made for it


def cmd_kit(args: argparse.Namespace) -> int:
    from eil.kit import kinds, load, report

    if args.what == "render":
        if not args.dir:
            raise SystemExit("eil kit render: give the folder to write the pages to")
        out = Path(args.dir)
        out.mkdir(parents=True, exist_ok=True)
        for kind in kinds():
            (out / f"{kind}.md").write_text(report(load(kind), args.latitude, markdown=True))
        print(f"{len(kinds())} kit pages written to {out} (latitude {args.latitude:g})")
        return 0
    print(report(load(args.what), args.latitude, markdown=args.markdown), end="")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    kit = sub.add_parser("kit", help="a sensor kit's bill of materials, wiring and power budget")
    kit.add_argument("what", help="the kit (soil, water, energy, weather, tools, pico), or "
                                  "render to write every kit's page into DIR")
    kit.add_argument("dir", nargs="?", help="with render: where the pages go")
    kit.add_argument("--latitude", type=float, default=DEFAULT_LATITUDE,
                     help="the site's latitude in degrees (south negative): sizes an off-grid "
                          f"kit's battery and panel for its worst month (default "
                          f"{DEFAULT_LATITUDE})")
    kit.add_argument("--markdown", action="store_true", help="the kit's page, as Markdown")
    kit.set_defaults(func=cmd_kit)
