"""The tool library's ledger at the gateway: the catalogue, memberships, loans derived from the
stations' events, and the view each station works from (docs/library.md)."""
