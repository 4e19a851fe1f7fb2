"""HTTP routers of the intake service: thin handlers over `commands` and `queries`."""
