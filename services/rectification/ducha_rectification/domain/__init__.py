"""Pure rectification domain: the state of one problem's rectification, rebuilt from its events,
and decide functions that turn a request into new events or refuse it. No I/O, no clock reads."""
