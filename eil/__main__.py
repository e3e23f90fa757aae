from eil.cli import main

raise SystemExit(main())
