"""A field site's files: its certificate authority, the broker's TLS config, the gateway's
config and every node's credential and config (`eil site ...`)."""
