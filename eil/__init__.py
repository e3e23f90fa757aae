"""The `eil` command line on top of the stack: node and gateway commands, the local broker with
its generated secure config, the demo and the site files. Nothing imports it."""
