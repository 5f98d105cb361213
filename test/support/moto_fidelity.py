"""Corrections that make moto 5 answer as AWS does where the tests depend on it.

Imported by both launchers (moto_server.py, moto_enforced.py) before moto
serves a request. Each correction names the AWS behaviour it restores.
"""
from __future__ import annotations

import json

from moto.secretsmanager.models import SecretsManagerBackend


def _list_secret_version_ids_with_real_dates(self: SecretsManagerBackend, secret_id: str) -> str:
    # AWS reports when each version was created; moto 5.2.1 reports the time
    # of the ListSecretVersionIds call for every version, although it stores
    # the creation time. The handler tells a dead delivery from a running one
    # by that date.
    answer = json.loads(_original_list_secret_version_ids(self, secret_id))
    versions = self.secrets[secret_id].versions
    for entry in answer.get("Versions", []):
        stored = versions.get(entry["VersionId"], {}).get("createdate")
        if stored is not None:
            entry["CreatedDate"] = stored
    return json.dumps(answer)


_original_list_secret_version_ids = SecretsManagerBackend.list_secret_version_ids


def apply() -> None:
    """Installs every correction (idempotent)."""
    SecretsManagerBackend.list_secret_version_ids = _list_secret_version_ids_with_real_dates  # type: ignore[method-assign]
