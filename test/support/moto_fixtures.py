"""State that only the passing of time makes, set up for a test.

AWS's API cannot backdate anything, and the tests cannot wait hours. This
WSGI middleware, put in front of moto by both launchers (moto_server.py),
answers one path that no AWS API uses:

    POST /_fixtures/age-access-key  {"AccessKeyId": "AKIA…", "Seconds": 7200}
    POST /_fixtures/age-secret-version  {"SecretId": "arn…", "VersionId": "…", "Seconds": 7200}

After them, IAM reports that key's CreateDate, or Secrets Manager that
version's CreatedDate, that many seconds earlier, as for a key or a value made
that long ago (someone else's key; a value an earlier version of the handler
wrote). Everything else passes through untouched.
"""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Callable, Iterable

from moto.iam.models import iam_backends

from moto.secretsmanager.models import secretsmanager_backends

AGE_KEY = "/_fixtures/age-access-key"
AGE_VERSION = "/_fixtures/age-secret-version"


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
        path = environ.get("PATH_INFO")
        if path not in (AGE_KEY, AGE_VERSION) or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length) or b"{}")
        seconds = float(body.get("Seconds", 0))
        if path == AGE_KEY:
            found = _age_access_key(str(body.get("AccessKeyId", "")), seconds)
        else:
            found = _age_secret_version(str(body.get("SecretId", "")), str(body.get("VersionId", "")), seconds)
        status = "200 OK" if found else "404 Not Found"
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps({"aged": found}).encode()]
