"""State that only the passing of time makes, set up for a test.

AWS's API cannot backdate anything, and the tests cannot wait hours. This
WSGI middleware, put in front of moto by both launchers (moto_server.py),
answers one path that no AWS API uses:

    POST /_fixtures/age-access-key  {"AccessKeyId": "AKIA…", "Seconds": 7200}
    POST /_fixtures/age-secret-version  {"SecretId": "arn…", "VersionId": "…", "Seconds": 7200}

After them, IAM reports that key's CreateDate, or Secrets Manager that
version's CreatedDate, that many seconds earlier, as for a key or a value made
that long ago (someone else's key; a value an earlier version of the handler
wrote).

    POST /_fixtures/clock  {"OffsetMs": 3600000}

moves moto's clock (what IAM and Secrets Manager stamp on what they create
from then on) that far ahead of the real one: the lifecycle simulation runs
the handler on a virtual clock (real time plus an offset that only grows) and
keeps moto on the same time. Everything else passes through untouched.
"""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Callable, Iterable

import time as real_time

import moto.iam.models as iam_models
import moto.secretsmanager.models as secretsmanager_models
from moto.core.utils import utcnow as real_utcnow
from moto.iam.models import iam_backends

from moto.secretsmanager.models import secretsmanager_backends

AGE_KEY = "/_fixtures/age-access-key"
AGE_VERSION = "/_fixtures/age-secret-version"
CLOCK = "/_fixtures/clock"

_offset_seconds = 0.0


class _ShiftedTime:
    """The `time` module as Secrets Manager's models use it, ahead by the offset."""

    def __getattr__(self, name: str) -> Any:
        return getattr(real_time, name)

    @staticmethod
    def time() -> float:
        return real_time.time() + _offset_seconds


def _shifted_utcnow() -> Any:
    return real_utcnow() + timedelta(seconds=_offset_seconds)


# IAM stamps keys with moto.core.utils.utcnow (imported by name); Secrets
# Manager stamps versions with time.time(). Both read the offset.
iam_models.utcnow = _shifted_utcnow  # type: ignore[attr-defined]
secretsmanager_models.utcnow = _shifted_utcnow  # type: ignore[attr-defined]
secretsmanager_models.time = _ShiftedTime()  # type: ignore[attr-defined]


def _age_access_key(access_key_id: str, seconds: float) -> bool:
    for account in iam_backends.values():
        for backend in account.values():
            for user in backend.users.values():
                for key in user.access_keys:
                    if key.access_key_id == access_key_id:
                        key.create_date = key.create_date - timedelta(seconds=seconds)
                        return True
    return False


def _age_secret_version(secret_id: str, version_id: str, seconds: float) -> bool:
    for account in secretsmanager_backends.values():
        for backend in account.values():
            for secret in backend.secrets.values():
                if secret_id in (secret.arn, secret.name) and version_id in secret.versions:
                    version = secret.versions[version_id]
                    version["createdate"] = int(version["createdate"] - seconds)
                    return True
    return False


class Fixtures:
    """Serves the fixture paths; passes every other request to `app`."""

    def __init__(self, app: Callable[..., Iterable[bytes]]):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        global _offset_seconds
        path = environ.get("PATH_INFO")
        if path not in (AGE_KEY, AGE_VERSION, CLOCK) or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length) or b"{}")
        if path == CLOCK:
            offset = float(body.get("OffsetMs", 0)) / 1000
            ok = offset >= _offset_seconds  # time only moves forward
            if ok:
                _offset_seconds = offset
            start_response("200 OK" if ok else "409 Conflict", [("Content-Type", "application/json")])
            return [json.dumps({"offsetMs": _offset_seconds * 1000}).encode()]
        seconds = float(body.get("Seconds", 0))
        if path == AGE_KEY:
            found = _age_access_key(str(body.get("AccessKeyId", "")), seconds)
        else:
            found = _age_secret_version(str(body.get("SecretId", "")), str(body.get("VersionId", "")), seconds)
        status = "200 OK" if found else "404 Not Found"
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps({"aged": found}).encode()]
