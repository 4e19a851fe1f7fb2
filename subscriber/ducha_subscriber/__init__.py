"""ducha-subscriber: a department follows its part of Ducha's department stream DUCHA_DEPT (see
`ducha_subscriber.app`), mirrors it into its own database as a 整改台账 (`mirror`) and/or forwards
it to its own HTTP endpoint (`forward`), with typed handlers per event type (`handlers`)."""

from .app import Follower, Outdated, build, make_broker
from .credentials import Credentials, load
from .forward import ForwardSink, signature, verified
from .handlers import Handlers
from .mirror import MirrorSink, engine_for

__all__ = ["Credentials", "Follower", "ForwardSink", "Handlers", "MirrorSink", "Outdated", "build", "engine_for", "load",
           "make_broker", "signature", "verified"]
