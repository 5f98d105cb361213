"""State that only the passing of time makes, set up for a test.

AWS's API cannot backdate anything, and the tests cannot wait hours. This
WSGI middleware, put in front of moto by both launchers (moto_server.py),
answers one path that no AWS API uses:

    POST /_fixtures/age-access-key  {"AccessKeyId": "AKIA…", "Seconds": 7200}

After it, IAM reports that key's CreateDate that many seconds earlier, as it
would for a key made that long ago (someone else's key, made before the test
began). Everything else passes through untouched.
"""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Callable, Iterable

from moto.iam.models import iam_backends

PATH = "/_fixtures/age-access-key"


def _age_access_key(access_key_id: str, seconds: float) -> bool:
    for account in iam_backends.values():
        for backend in account.values():
            for user in backend.users.values():
                for key in user.access_keys:
                    if key.access_key_id == access_key_id:
                        key.create_date = key.create_date - timedelta(seconds=seconds)
                        return True
    return False


class Fixtures:
    """Serves PATH; passes every other request to `app`."""

    def __init__(self, app: Callable[..., Iterable[bytes]]):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length) or b"{}")
        found = _age_access_key(str(body.get("AccessKeyId", "")), float(body.get("Seconds", 0)))
        status = "200 OK" if found else "404 Not Found"
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps({"aged": found}).encode()]
