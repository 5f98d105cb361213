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
keeps moto on the same time.

    GET /_fixtures/iam-key-creations

lists every access key IAM created since moto's last reset: who asked (the
access key id the request was signed with), for which user, which key, and
when (epoch ms on moto's clock). AWS records each such call in CloudTrail
whether or not its answer reaches the caller; moto records nothing. The
tests' CloudTrail stand-in (test/support/cloudtrail-records.ts) serves
these as CloudTrail's event history. Everything else passes through
untouched.
"""
from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from urllib.parse import parse_qs
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
KEY_CREATIONS = "/_fixtures/iam-key-creations"
RESET = "/moto-api/reset"

_key_creations: list[dict[str, Any]] = []

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
                        # CloudTrail recorded the key's creation when it was made.
                        for creation in _key_creations:
                            if creation["accessKeyId"] == access_key_id:
                                creation["at"] -= int(seconds * 1000)
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
        if path == KEY_CREATIONS and environ.get("REQUEST_METHOD") == "GET":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps(_key_creations).encode()]
        if path == RESET:
            _key_creations.clear()
        if _is_iam(environ):
            return self._recording_key_creations(environ, start_response)
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

    def _recording_key_creations(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        action = parse_qs(raw.decode("utf-8", "replace")).get("Action", [""])[0]
        if action != "CreateAccessKey":
            return self.app(environ, start_response)
        status: list[str] = []

        def capture(code: str, headers: Any, exc_info: Any = None) -> Any:
            status.append(code)
            return start_response(code, headers, exc_info) if exc_info else start_response(code, headers)

        body = b"".join(self.app(environ, capture))
        if status and status[0].startswith("200"):
            text = body.decode("utf-8", "replace")
            key = re.search(r"<AccessKeyId>([^<]+)</AccessKeyId>", text)
            user = re.search(r"<UserName>([^<]+)</UserName>", text)
            caller = re.search(r"Credential=([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
            if key and user:
                _key_creations.append({
                    "accessKeyId": key.group(1),
                    "userName": user.group(1),
                    "callerAccessKeyId": caller.group(1) if caller else None,
                    "at": int((real_time.time() + _offset_seconds) * 1000),
                })
        return [body]


def _is_iam(environ: dict[str, Any]) -> bool:
    """A request to IAM: its signature's credential scope names the service."""
    return "/iam/aws4_request" in environ.get("HTTP_AUTHORIZATION", "") and environ.get("REQUEST_METHOD") == "POST"
