"""Command handlers: check role and scope, load the aggregates a rule needs, and run the pure
decide function through the kernel's command runner. Used by the HTTP routers and the importers."""
