"""Schemathesis hooks of scripts/schemathesis.sh.

Idempotency keys: the API answers a key reused with another request 409 `idempotency_key_reused`,
before it reads the fields. Generated keys are short ("0", "a") and come back all the time, so most
requests would stop at that 409 and their bodies would never be checked (an invalid body wrongly
accepted would hide behind it). A well-formed key (1-255 characters) is therefore replaced by a
fresh one, as a real client makes one per request; malformed keys are kept, so their 400 is still
tested. Replays of a key are tested in Tests/WebTests/IdempotencyTests.swift."""
import uuid

import schemathesis


@schemathesis.hook
def map_case(context, case):
    # `map_case` rather than `map_headers`: the coverage phase applies only case hooks.
    key = (case.headers or {}).get("Idempotency-Key")
    if isinstance(key, str) and 1 <= len(key) <= 255:
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
    return case
