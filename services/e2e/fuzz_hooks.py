"""schemathesis hooks for services/e2e/test_fuzz.py (loaded with SCHEMATHESIS_HOOKS): every request
goes out with the next role's token in turn (office, team, unit), and every fourth keeps whatever
Authorization header the fuzzer generated (none or garbage), so one run covers every role."""

from __future__ import annotations

import itertools
import json
import os
from typing import Any

import schemathesis

_TOKENS = itertools.cycle([*json.loads(os.environ.get("DUCHA_FUZZ_TOKENS", "[]")), None])


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    token = next(_TOKENS)
    if token is None:
        return
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    headers["Authorization"] = f"Bearer {token}"
    case.headers = headers
