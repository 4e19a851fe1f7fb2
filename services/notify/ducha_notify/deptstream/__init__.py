"""The department stream `DUCHA_DEPT`: what each department (an inspected unit or a helper
department) may see of the internal log, redacted, in the public contract shape.

`stream` the NATS stream, subjects and the departments' consumers; `tables` + `projection` the
outbox the disclosure policy fills; `publisher` copies the outbox to the stream (a background
job); `api` the consumers over HTTP and the AsyncAPI catalogue (`catalogue`); `sse` the same
events as Server-Sent Events. NATS users for departments: `ducha_notify.natsauth`.
"""
