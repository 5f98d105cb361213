"""
moto's server with IAM authorisation done the way AWS does it, for tests only.

    python3 test/support/moto_enforced.py --host 127.0.0.1 --port 5000

Stock moto (5.2.1) authorises IAM and Secrets Manager calls against resource
"*", ignores Condition blocks, and answers Secrets Manager denials in XML that
AWS SDK v3 cannot parse. This launcher wraps moto's own WSGI application in a
middleware that authenticates the caller and evaluates its identity policies
against the ARN of the resource the request names, then passes allowed
requests on to moto unchanged.

- Access key id `testing` is the test harness (administrator, CloudFormation):
  passed through unchecked, as are /moto-api/... and /_enforcer/... .
- Every other key must be an IAM user's active access key or a session from
  moto's STS AssumeRole. SigV4 signatures are NOT verified (moto keeps the
  secret, and the tests gain nothing from checking it).
- Evaluated: identity policies only (user inline + attached + groups; role
  inline + attached). Not evaluated: permission boundaries, SCPs, session
  policies, resource policies, key policies, trust policies.
- GET /_enforcer/decisions lists every decision made; POST /_enforcer/clear
  empties that list. POST /moto-api/reset resets moto as usual.
"""

from __future__ import annotations

import datetime
import gzip
import io
import json
import os
import re
import sys
import threading
import uuid
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

# moto's own enforcement must stay off: this middleware replaces it.
os.environ.pop("INITIAL_NO_AUTH_ACTION_COUNT", None)

from moto.iam.models import iam_backends  # noqa: E402
from moto.secretsmanager.models import secretsmanager_backends  # noqa: E402
from moto.sts.models import sts_backends  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moto_server  # noqa: E402

HARNESS_ACCESS_KEY = "testing"
PARTITION = "aws"
IAM_XMLNS = "https://iam.amazonaws.com/doc/2010-05-08/"
STS_XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/"


def log(message: str) -> None:
    print(f"[moto_enforced] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Policy evaluation
# --------------------------------------------------------------------------


class Unsupported(Exception):
    """A policy element this evaluator does not implement: fail closed."""


def literal(pattern: str) -> str:
    if "${" in pattern:
        raise Unsupported(f"policy variable in {pattern!r}")
    return pattern


def glob_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM wildcard match: `*` any run of characters, `?` one character."""
    literal(pattern)
    regex = "".join(
        ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern
    )
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.fullmatch(regex, value, flags) is not None


def arn_match(pattern: str, value: str) -> bool:
    """ArnEquals / ArnLike: the six ARN fields compared one by one, with wildcards."""
    pattern_parts = pattern.split(":", 5)
    value_parts = value.split(":", 5)
    if len(value_parts) != 6 or len(pattern_parts) != 6:
        return False
    return all(glob_match(p, v) for p, v in zip(pattern_parts, value_parts))


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# Base operator -> (matches one request value against one policy value, negated?)
OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (lambda p, v: literal(p) == v, False),
    "StringNotEquals": (lambda p, v: literal(p) == v, True),
    "StringEqualsIgnoreCase": (lambda p, v: literal(p).lower() == v.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda p, v: literal(p).lower() == v.lower(), True),
    "StringLike": (glob_match, False),
    "StringNotLike": (glob_match, True),
    "ArnEquals": (arn_match, False),
    "ArnLike": (arn_match, False),
    "ArnNotEquals": (arn_match, True),
    "ArnNotLike": (arn_match, True),
    "Bool": (lambda p, v: p.lower() == v.lower(), False),
}


def condition_holds(operator: str, key: str, policy_values: list[Any], context: dict[str, list[str]]) -> bool:
    """One operator/key pair of a Condition block, per AWS's documented logic."""
    request_values = context.get(key.lower())  # None: the key is absent
    set_operator = None
    if ":" in operator:
        set_operator, operator = operator.split(":", 1)
        if set_operator not in ("ForAllValues", "ForAnyValue"):
            raise Unsupported(f"set operator {set_operator}")
    policy_values = [str(v).lower() if isinstance(v, bool) else str(v) for v in policy_values]

    if operator == "Null":
        absent = not request_values
        return any((p.lower() == "true") == absent for p in policy_values)

    if_exists = operator.endswith("IfExists")
    base = operator[: -len("IfExists")] if if_exists else operator
    if base not in OPERATORS:
        raise Unsupported(f"condition operator {operator}")
    match, negated = OPERATORS[base]

    def one_value_holds(value: str) -> bool:
        # Several policy values: OR for a positive operator, NOR for a negated one.
        hit = any(match(p, value) for p in policy_values)
        return not hit if negated else hit

    if set_operator == "ForAllValues":
        # Vacuously true when the request carries no value for the key.
        return all(one_value_holds(v) for v in (request_values or []))
    if set_operator == "ForAnyValue":
        return any(one_value_holds(v) for v in (request_values or []))
    if request_values is None:
        # Absent key: ...IfExists and negated operators hold, the rest do not.
        return if_exists or negated
    if negated:
        return all(one_value_holds(v) for v in request_values)
    return any(one_value_holds(v) for v in request_values)


def statement_applies(statement: dict[str, Any], action: str, resource: str, context: dict[str, list[str]]) -> bool:
    if "Action" in statement:
        if not any(glob_match(p, action, ignore_case=True) for p in as_list(statement["Action"])):
            return False
    elif "NotAction" in statement:
        if any(glob_match(p, action, ignore_case=True) for p in as_list(statement["NotAction"])):
            return False
    else:
        return False
    if "Resource" in statement:
        if not any(glob_match(p, resource) for p in as_list(statement["Resource"])):
            return False
    elif "NotResource" in statement:
        if any(glob_match(p, resource) for p in as_list(statement["NotResource"])):
            return False
    else:
        return False
    for operator, pairs in (statement.get("Condition") or {}).items():
        for key, values in pairs.items():
            if not condition_holds(operator, key, as_list(values), context):
                return False
    return True


def evaluate(policies: list[tuple[str, Any]], action: str, resource: str, context: dict[str, list[str]]) -> tuple[str, str | None]:
    """Explicit Deny wins, then any Allow, else implicit deny.

    Returns (effect, statement label) with effect "allow", "explicit-deny" or
    "implicit-deny".
    """
    allowed_by = None
    for policy_name, document in policies:
        if isinstance(document, str):
            document = json.loads(document)
        for index, statement in enumerate(as_list(document.get("Statement", []))):
            label = f"{policy_name}#{statement.get('Sid') or index}"
            deny = statement.get("Effect") == "Deny"
            try:
                applies = statement_applies(statement, action, resource, context)
            except Unsupported as problem:
                # Fail closed: an Allow we cannot read grants nothing, a Deny we cannot read denies.
                log(f"unsupported in {label}: {problem}; treating the {'Deny as applying' if deny else 'Allow as not applying'}")
                applies = deny
            if applies and deny:
                return "explicit-deny", label
            if applies and allowed_by is None:
                allowed_by = label
    return ("allow", allowed_by) if allowed_by else ("implicit-deny", None)


# --------------------------------------------------------------------------
# Principals, from moto's IAM and STS backends
# --------------------------------------------------------------------------


class Principal:
    def __init__(self, account: str, arn: str, principal_arn: str, policies: list[tuple[str, Any]], user_name: str | None):
        self.account = account
        self.arn = arn  # as AWS names the caller in messages
        self.principal_arn = principal_arn  # aws:PrincipalArn (the role, for a session)
        self.policies = policies
        self.user_name = user_name


class AuthFailure(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def policy_document(policy: Any) -> Any:
    default = next(v for v in policy.versions if v.is_default)
    return default.document


def owner_policies(owner: Any, prefix: str) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = [(f"{prefix}:{name}", doc) for name, doc in owner.policies.items()]
    found += [(arn, policy_document(p)) for arn, p in owner.managed_policies.items()]
    return found


def find_principal(access_key_id: str, session_token: str | None) -> Principal:
    invalid = AuthFailure("InvalidClientTokenId", "The security token included in the request is invalid.")
    for account, by_partition in list(iam_backends.items()):
        iam = by_partition[PARTITION]
        key = iam.access_keys.get(access_key_id)
        if key is None:
            continue
        if getattr(key, "role_arn", None):
            sts = sts_backends[account][PARTITION]
            session = next((s for s in sts.assumed_roles if s.access_key_id == access_key_id), None)
            if session is None or session_token != session.session_token:
                raise invalid
            if session.expiration < datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None):
                raise AuthFailure("ExpiredToken", "The security token included in the request is expired")
            role_name = session.role_arn.split("/")[-1]
            role = next((r for r in iam.roles.values() if r.arn == session.role_arn), None)
            policies = owner_policies(role, f"role/{role_name}") if role else []
            return Principal(account, session.arn, session.role_arn, policies, None)
        if key.user_name is None or session_token is not None or key.status != "Active":
            raise invalid
        user = iam.users.get(key.user_name)
        if user is None:
            raise invalid
        policies = owner_policies(user, f"user/{user.name}")
        for group in iam.get_groups_for_user(user.name):
            policies += owner_policies(group, f"group/{group.name}")
        return Principal(account, user.arn, user.arn, policies, user.name)
    raise invalid


# --------------------------------------------------------------------------
# The request: action, resource ARN and condition context
# --------------------------------------------------------------------------


def tags_context(context: dict[str, list[str]], prefix: str, tags: Iterable[tuple[str, str]], service: str) -> None:
    # aws:ResourceTag also has a service-scoped twin (iam:, secretsmanager:); aws:RequestTag does not.
    scopes = ("aws", service) if prefix == "ResourceTag" else ("aws",)
    for key, value in tags:
        for scope in scopes:
            context[f"{scope}:{prefix}/{key}".lower()] = [value]


def query_list(params: dict[str, str], name: str) -> list[str]:
    found = []
    n = 1
    while f"{name}.member.{n}" in params:
        found.append(params[f"{name}.member.{n}"])
        n += 1
    return found


def query_tags(params: dict[str, str]) -> list[tuple[str, str]]:
    found = []
    n = 1
    while f"Tags.member.{n}.Key" in params:
        found.append((params[f"Tags.member.{n}.Key"], params.get(f"Tags.member.{n}.Value", "")))
        n += 1
    return found


# IAM actions that act on the caller's own user when UserName is omitted.
SELF_USER_ACTIONS = {"CreateAccessKey", "DeleteAccessKey", "ListAccessKeys", "UpdateAccessKey", "GetUser", "ListUserTags"}


def describe_iam(principal: Principal, params: dict[str, str], context: dict[str, list[str]]) -> tuple[str, str]:
    action = params.get("Action", "")
    iam = iam_backends[principal.account][PARTITION]
    resource = "*"
    # Here this launcher narrows moto to AWS's rule: moto authorises every IAM
    # call against "*", AWS against the ARN of the user or role the call names.
    if "UserName" in params or (action in SELF_USER_ACTIONS and principal.user_name):
        name = params.get("UserName") or principal.user_name
        user = iam.users.get(name)
        path = user.path if user else params.get("Path", "/")
        resource = f"arn:{PARTITION}:iam::{principal.account}:user{path}{name}"
        if user:
            tags = iam.tagger.list_tags_for_resource(user.arn)["Tags"]
            tags_context(context, "ResourceTag", ((t["Key"], t["Value"]) for t in tags), "iam")
    elif "RoleName" in params:
        name = params["RoleName"]
        role = next((r for r in iam.roles.values() if r.name == name), None)
        path = role.path if role else params.get("Path", "/")
        resource = f"arn:{PARTITION}:iam::{principal.account}:role{path}{name}"
        if role:
            tags_context(context, "ResourceTag", ((t["Key"], t["Value"]) for t in role.tags), "iam")
    request_tags = query_tags(params)
    tag_keys = [k for k, _ in request_tags] or query_list(params, "TagKeys")
    tags_context(context, "RequestTag", request_tags, "iam")
    if tag_keys:
        context["aws:tagkeys"] = tag_keys
    return f"iam:{action}", resource


def describe_secrets_manager(principal: Principal, region: str, operation: str, body: dict[str, Any], context: dict[str, list[str]]) -> tuple[str, str]:
    backend = secretsmanager_backends[principal.account][region]
    arn_prefix = f"arn:{PARTITION}:secretsmanager:{region}:{principal.account}:secret:"
    resource = "*"
    if operation == "CreateSecret":
        resource = f"{arn_prefix}{body.get('Name', '')}-??????"
    elif "SecretId" in body:
        secret_id = body["SecretId"]
        secret = backend.secrets.get(secret_id)
        if secret is not None:
            resource = secret.arn
            tags_context(context, "ResourceTag", ((t["Key"], t["Value"]) for t in (secret.tags or [])), "secretsmanager")
        else:
            resource = secret_id if secret_id.startswith("arn:") else f"{arn_prefix}{secret_id}"
    request_tags = [(t.get("Key", ""), t.get("Value", "")) for t in body.get("Tags") or []]
    tag_keys = [k for k, _ in request_tags] or list(body.get("TagKeys") or [])
    tags_context(context, "RequestTag", request_tags, "secretsmanager")
    if tag_keys:
        context["aws:tagkeys"] = tag_keys
    return f"secretsmanager:{operation}", resource


def describe_request(principal: Principal, service: str, region: str, target: str | None, body: bytes) -> tuple[str, str, dict[str, list[str]]]:
    context: dict[str, list[str]] = {
        "aws:principalarn": [principal.principal_arn],
        "aws:principalaccount": [principal.account],
        "aws:requestedregion": [region],
    }
    if target:  # JSON protocol: X-Amz-Target is <Prefix>.<Operation>
        operation = target.split(".", 1)[-1]
        payload = json.loads(body or b"{}")
        if service == "secretsmanager":
            action, resource = describe_secrets_manager(principal, region, operation, payload, context)
        else:
            # KMS and other JSON services: authorised against "*" (enough for these tests).
            action, resource = f"{service}:{operation}", "*"
    else:  # query protocol: form-encoded Action=...
        params = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
        if service == "iam":
            action, resource = describe_iam(principal, params, context)
        elif service == "sts" and params.get("Action") == "AssumeRole":
            action, resource = "sts:AssumeRole", params.get("RoleArn", "*")
        else:
            # STS and other query services: authorised against "*".
            action, resource = f"{service}:{params.get('Action', '')}", "*"
    return action, resource, context


# --------------------------------------------------------------------------
# Responses as AWS sends them
# --------------------------------------------------------------------------


def xml_error(status: int, xmlns: str, code: str, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
    body = (
        f'<ErrorResponse xmlns="{xmlns}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{escape_xml(message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return status, [("Content-Type", "text/xml")], body.encode()


def json_error(code: str, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
    # SDK v3's awsJson1_1 parser takes the error name from x-amzn-ErrorType or __type.
    body = json.dumps({"__type": code, "Message": message})
    headers = [
        ("Content-Type", "application/x-amz-json-1.1"),
        ("x-amzn-ErrorType", code),
        ("x-amzn-RequestId", str(uuid.uuid4())),
    ]
    return 400, headers, body.encode()


def escape_xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def error_response(service: str, is_json: bool, code: str, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
    if is_json:
        json_code = {"InvalidClientTokenId": "UnrecognizedClientException", "AccessDenied": "AccessDeniedException"}.get(code, code)
        return json_error(json_code, message)
    return xml_error(403, STS_XMLNS if service == "sts" else IAM_XMLNS, code, message)


# --------------------------------------------------------------------------
# The middleware
# --------------------------------------------------------------------------

CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/aws4_request")


class Enforcer:
    def __init__(self, app: Callable[..., Iterable[bytes]]):
        self.app = app
        self.lock = threading.Lock()
        self.decisions: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_enforcer/"):
            return self.own_endpoint(environ, path, start_response)
        if path.startswith("/moto-api"):
            return self.app(environ, start_response)
        match = CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
        if match and match.group(1) == HARNESS_ACCESS_KEY:
            return self.app(environ, start_response)

        body = self.take_body(environ)
        target = environ.get("HTTP_X_AMZ_TARGET")
        service = match.group(3) if match else "iam"
        region = match.group(2) if match else "us-east-1"
        try:
            if not match:
                raise AuthFailure("MissingAuthenticationToken", "Request is missing Authentication Token")
            principal = find_principal(match.group(1), environ.get("HTTP_X_AMZ_SECURITY_TOKEN"))
        except AuthFailure as failure:
            return self.respond(start_response, error_response(service, bool(target), failure.code, failure.message))

        action, resource, context = describe_request(principal, service, region, target, self.decoded(environ, body))
        if action == "sts:GetCallerIdentity":
            effect, statement = "allow", None  # AWS answers it whatever the policies say
        else:
            effect, statement = evaluate(principal.policies, action, resource, context)
        with self.lock:
            self.decisions.append({
                "principal": principal.arn,
                "action": action,
                "resource": resource,
                "effect": "allow" if effect == "allow" else "deny",
                "reason": effect,
                "statement": statement,
            })
        if effect == "allow":
            return self.app(environ, start_response)
        why = ("with an explicit deny in an identity-based policy" if effect == "explicit-deny"
               else f"because no identity-based policy allows the {action} action")
        message = f"User: {principal.arn} is not authorized to perform: {action} on resource: {resource} {why}"
        return self.respond(start_response, error_response(service, bool(target), "AccessDenied", message))

    @staticmethod
    def take_body(environ: dict[str, Any]) -> bytes:
        """Read the body to decide, and leave moto an identical stream to read."""
        length = environ.get("CONTENT_LENGTH")
        stream = environ["wsgi.input"]
        if length:
            body = stream.read(int(length))
        elif environ.get("wsgi.input_terminated"):
            body = stream.read()
        else:
            body = b""
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return body

    @staticmethod
    def decoded(environ: dict[str, Any], body: bytes) -> bytes:
        if environ.get("HTTP_CONTENT_ENCODING") == "gzip":
            return gzip.decompress(body)
        return body

    @staticmethod
    def respond(start_response: Callable[..., Any], response: tuple[int, list[tuple[str, str]], bytes]) -> list[bytes]:
        status, headers, body = response
        reason = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 200: "OK"}[status]
        start_response(f"{status} {reason}", headers + [("Content-Length", str(len(body)))])
        return [body]

    def own_endpoint(self, environ: dict[str, Any], path: str, start_response: Callable[..., Any]) -> list[bytes]:
        method = environ.get("REQUEST_METHOD")
        if path == "/_enforcer/decisions" and method == "GET":
            with self.lock:
                body = json.dumps(self.decisions).encode()
            return self.respond(start_response, (200, [("Content-Type", "application/json")], body))
        if path == "/_enforcer/clear" and method == "POST":
            with self.lock:
                self.decisions.clear()
            return self.respond(start_response, (200, [("Content-Type", "application/json")], b"{}"))
        return self.respond(start_response, (404, [("Content-Type", "text/plain")], b"unknown enforcer endpoint"))


if __name__ == "__main__":
    moto_server.main(Enforcer)
