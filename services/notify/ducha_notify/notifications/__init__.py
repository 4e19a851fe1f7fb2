"""Notifications: reminders and escalations to the right people by e-mail, robot webhook and
inbox.

`domain` which upstream events become which reminder (pure); `reactions` records a notification
once per cause; `jobs` the periodic scan (escalations, revisits due, digests); `recipients` who is
told; `templates` the message texts; `tables` + `projection` + `queries` the templates in force,
notifications, inbox and outbox; `sender` delivers the outbox (`mail` over SMTP, robots through
the unit's WeCom/DingTalk subscription); `api` templates, inbox, the record and a manual scan.
"""
