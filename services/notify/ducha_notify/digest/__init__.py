"""Digests: what is due soon, overdue and rejected per unit and per team (`queries`, read from
the directory; the daily digest notifications come from `notifications.jobs`); `api` the routes."""
