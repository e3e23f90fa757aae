"""Web views served by the gateway: a JSON API and the pages built on it."""
