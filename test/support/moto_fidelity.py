"""Corrections that make moto 5 answer as AWS does where the tests depend on it.

Imported by both launchers (moto_server.py, moto_enforced.py) before moto
serves a request. Each correction names the AWS behaviour it restores.
"""
from __future__ import annotations

import json
import time
from typing import Any

from moto.moto_api._internal import mock_random
from moto.secretsmanager.exceptions import ResourceExistsException, SecretNotFoundException
from moto.secretsmanager.models import FakeSecret, SecretsManagerBackend
from moto.secretsmanager.responses import SecretsManagerResponse


def _list_secret_version_ids_with_real_dates(self: SecretsManagerBackend, secret_id: str, include_deprecated: bool = False) -> str:
    # AWS reports when each version was created; moto 5.2.1 reports the time
    # of the ListSecretVersionIds call for every version, although it stores
    # the creation time. The handler tells a dead delivery from a running one
    # by that date, and whether a version vouches for a key.
    # AWS also leaves out versions without labels (deprecated ones) unless
    # IncludeDeprecated is true; moto 5.2.1 always lists them.
    answer = json.loads(_original_list_secret_version_ids(self, secret_id))
    versions = self.secrets[secret_id].versions
    listed = []
    for entry in answer.get("Versions", []):
        stored = versions.get(entry["VersionId"], {}).get("createdate")
        if stored is not None:
            entry["CreatedDate"] = stored
        if include_deprecated or entry.get("VersionStages"):
            listed.append(entry)
    answer["Versions"] = listed
    return json.dumps(answer)


_original_list_secret_version_ids = SecretsManagerBackend.list_secret_version_ids


def _list_secret_version_ids_response(self: SecretsManagerResponse) -> str:
    # Passes IncludeDeprecated on, which moto 5.2.1's response handler drops.
    secret_id = self._get_param("SecretId", if_none="")
    include_deprecated = self._get_param("IncludeDeprecated", if_none=False) is True
    return self.backend.list_secret_version_ids(secret_id=secret_id, include_deprecated=include_deprecated)


def _rotate_secret_as_aws_starts_it(
    self: SecretsManagerBackend,
    secret_id: str,
    client_request_token: str | None = None,
    rotation_lambda_arn: str | None = None,
    rotation_rules: dict[str, Any] | None = None,
    rotate_immediately: bool = True,
) -> str:
    # AWS records the rotation configuration (DescribeSecret then reports
    # RotationEnabled and RotationLambdaARN) and stages AWSPENDING on a new
    # version whose id is the token; then it invokes the rotation function
    # asynchronously. moto 5.2.1 invokes it synchronously through its Lambda
    # backend (which needs Docker). Here nothing is invoked: the test harness
    # plays Secrets Manager and calls the handler itself
    # (test/support/rotation-configuration.ts, World.invoke).
    #
    # RotateImmediately (default true) starts a rotation: the new version is
    # empty until the function's createSecret writes it. With false, Secrets
    # Manager "tests the rotation configuration by running the testSecret step
    # of the Lambda rotation function. This test creates an AWSPENDING version
    # of the secret and then removes it" (RotateSecret API reference,
    # RotateImmediately; the same words under RotateImmediatelyOnUpdate of
    # AWS::SecretsManager::RotationSchedule). What that version holds is not
    # documented; it holds the current value here, as in moto: AWS's own
    # rotation templates (aws-samples/aws-secrets-manager-rotation-lambdas)
    # log in with the token's AWSPENDING value in testSecret, which only the
    # current credentials can pass. The harness removes the label after the
    # step, as Secrets Manager does.
    if not self._is_valid_identifier(secret_id):
        raise SecretNotFoundException()
    secret = self.secrets[secret_id]
    token = client_request_token or str(mock_random.uuid4())
    if rotation_lambda_arn:
        secret.rotation_lambda_arn = rotation_lambda_arn
    if rotation_rules:
        days = rotation_rules.get("AutomaticallyAfterDays")
        if days:
            secret.auto_rotate_after_days = int(days)
    secret.rotation_enabled = True
    secret.rotation_requested = True
    if token not in secret.versions:  # a repeated token is the same request (idempotent, as on AWS)
        secret.remove_version_stages_from_old_versions(["AWSPENDING"])
        version: dict[str, Any] = {"createdate": int(time.time()), "version_id": token, "version_stages": ["AWSPENDING"]}
        if not rotate_immediately:
            current = next((v for v in secret.versions.values() if "AWSCURRENT" in v["version_stages"]), None)
            for field in ("secret_string", "secret_binary"):
                if current is not None and current.get(field) is not None:
                    version[field] = current[field]
        secret.versions[token] = version
    return json.dumps({"ARN": secret.arn, "Name": secret.name, "VersionId": token})


def _version_ids_to_stages_with_labels(self: FakeSecret) -> dict[str, list[str]]:
    # DescribeSecret's VersionIdsToStages is "a list of the versions of the
    # secret that have staging labels attached. Versions that don't have
    # staging labels are considered deprecated" (DescribeSecret API
    # reference). moto 5.2.1 lists every version, a label-less one with [].
    return {version_id: list(version["version_stages"]) for version_id, version in self.versions.items() if version["version_stages"]}


def _reset_default_version_as_aws_moves_labels(self: FakeSecret, secret_version: dict[str, Any], version_id: str) -> None:
    # PutSecretValue (or UpdateSecret) with AWSCURRENT: AWS moves every label
    # the new version gets to it, and AWSPREVIOUS to the version that was
    # current, which keeps its other labels. moto 5.2.1 replaces that
    # version's labels with AWSPREVIOUS alone (a generation label the handler
    # follows at stack delete is lost) and leaves the new version's other
    # labels on older versions too.
    stages = secret_version["version_stages"]
    for other_id, other in self.versions.items():
        if other_id != version_id:
            other["version_stages"] = [s for s in other["version_stages"] if s != "AWSPREVIOUS" and s not in stages]
    previous = self.default_version_id
    if previous and previous != version_id and previous in self.versions:
        self.versions[previous]["version_stages"].append("AWSPREVIOUS")
    self.versions[version_id] = secret_version
    self.default_version_id = version_id


def _check_existing_version_as_aws(
    self: SecretsManagerBackend,
    secret_name: str,
    client_request_token: str | None,
    secret_string: str | None,
    secret_binary: str | None,
    on_create: bool = False,
) -> Any:
    # PutSecretValue with the id of a version that already has a value: "If a
    # version with this version ID already exists and the version SecretString
    # and SecretBinary values are the same as those in the request, then the
    # request is ignored. If a version with this version ID already exists and
    # you specify a different SecretString or SecretBinary, then the request
    # fails because you can't modify a secret version" (PutSecretValue API
    # reference). moto 5.2.1 lets any version labelled AWSPENDING be
    # overwritten, whatever it holds; only the empty version RotateSecret
    # stages may be filled, once.
    secret = self.secrets.get(secret_name) if client_request_token else None
    version = secret.versions.get(client_request_token) if secret is not None else None
    if version is not None and (version.get("secret_string") is not None or version.get("secret_binary") is not None):
        if version.get("secret_string") == secret_string and version.get("secret_binary") == secret_binary:
            return secret
        raise ResourceExistsException(
            f"You can't use ClientRequestToken {client_request_token} because that value is already in use for a version of secret {secret.arn}."
        )
    return _original_check_existing(self, secret_name, client_request_token, secret_string, secret_binary, on_create)


_original_check_existing = SecretsManagerBackend._check_with_existing_secrets_and_versions


def apply() -> None:
    """Installs every correction (idempotent)."""
    SecretsManagerBackend._check_with_existing_secrets_and_versions = _check_existing_version_as_aws  # type: ignore[method-assign]
    SecretsManagerBackend.list_secret_version_ids = _list_secret_version_ids_with_real_dates  # type: ignore[method-assign]
    SecretsManagerBackend.rotate_secret = _rotate_secret_as_aws_starts_it  # type: ignore[method-assign]
    FakeSecret.reset_default_version = _reset_default_version_as_aws_moves_labels  # type: ignore[method-assign]
    FakeSecret._form_version_ids_to_stages = _version_ids_to_stages_with_labels  # type: ignore[method-assign,assignment]
    SecretsManagerResponse.list_secret_version_ids = _list_secret_version_ids_response  # type: ignore[method-assign]
