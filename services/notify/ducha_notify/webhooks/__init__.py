"""Webhooks: a unit's part of the department stream POSTed to its receivers, signed, at least
once, in order per subscription.

`domain` the subscription aggregate (state and decisions, pure); `tables` + `projection` the
subscriptions and each delivery's state; `queries` reads them; `api` the HTTP routes;
`dispatcher` the delivery workers (one per subscription, under its lease); `formats` the bodies
(JSON, WeCom, DingTalk) and signatures; `outbound` where notify may send (SSRF-safe);
`sealing` URL secrets sealed in the log and the per-subscription signing secret.
"""
