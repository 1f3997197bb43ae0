"""Who created a resource: a readable, tag-safe Creator from a CloudTrail record's userIdentity."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from mlgov.domain.tag_schema import is_allowed_tag_char

# Creator.kind values.
IAM_USER = "iam-user"
ASSUMED_ROLE = "assumed-role"
SSO_USER = "sso-user"
IDENTITY_CENTER_USER = "identity-center-user"
FEDERATED_USER = "federated-user"
AWS_SERVICE = "aws-service"
ROOT = "root"
UNKNOWN_KIND = "unknown"

# botocore SageMaker TagValue: max 256, pattern ([\p{L}\p{Z}\p{N}_.:/=+\-@]*).
TAG_VALUE_MAX_LENGTH = 256
_REPLACEMENT = "_"
_ELLIPSIS = "..."  # "." is allowed in tag values; "…" (U+2026) is not

# IAM Identity Center permission-set roles: AWSReservedSSO_<PermissionSet>_<hex>, path
# /aws-reserved/sso.amazonaws.com/ or /aws-reserved/sso.amazonaws.com/<region>/.
_SSO_ROLE_PREFIX = "AWSReservedSSO_"
_SSO_ROLE_PATH = "/aws-reserved/sso.amazonaws.com/"
# SageMaker Pipelines tags the jobs and models its steps create with the execution ARN
# (the SageMaker Python SDK's lineage code reads it back with ListTags).
PIPELINE_EXECUTION_TAG = "sagemaker:pipeline-execution-arn"
_PIPELINE_IN_EXECUTION_ARN = re.compile(r":pipeline/([^/]+)/execution/")
_TUNING_JOB_IN_ARN = re.compile(r":hyper-parameter-tuning-job/([^/]+)$")
# Training jobs launched by a tuning job are named <tuning-job-name>-<NNN>-<8 hex> (tuning job names
# are at most 32 characters). Observed naming, not a documented contract: used only for records a
# service made, as the last resort.
_TUNING_CHILD_JOB_NAME = re.compile(r"([A-Za-z0-9](?:-*[A-Za-z0-9]){0,31})-\d{3}-[0-9a-f]{8}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_SERVICE_PRINCIPAL = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")  # sagemaker.amazonaws.com, not "AWS Internal"


@dataclass(frozen=True)
class Creator:
    display: str  # readable and already a valid tag value: "alice@example.com", "iam-user/bob", ...
    arn: str  # the principal's full ARN (or the parent job's for service-made records), tag-safe; may be ""
    kind: str  # one of the kind constants above


UNKNOWN = Creator(display="unknown", arn="", kind=UNKNOWN_KIND)


class _Principal(NamedTuple):
    label: str  # "" when nothing readable was found
    arn: str
    kind: str
    human: bool  # the label names a person (or the account root), not a role session or a service


def resolve_creator(detail: Mapping, trusted_federation_roles: Collection[str] = ()) -> Creator:
    """The creator behind a CloudTrail record's ``detail``; odd or missing input gives kind "unknown".

    A person behind a service call is named first ("iam-user/bob via cloudformation.amazonaws.com"); a
    service working for a pipeline or tuning job names that parent ("sagemaker.amazonaws.com via
    pipeline/churn-train"); a role session no person can be read from is "role/<role>/<session>".
    Only what no member-account user can forge names a person: an IAM user, an Identity Center permission-set role
    (by its AWS-reserved path, not its name), or a session name / sourceIdentity of a role listed in
    ``trusted_federation_roles`` (exact role ARNs, path included). Anyone can name a session like an e-mail address
    or set a sourceIdentity on a role they made: elsewhere both stay in the "role/<role>/<session>" label, unverified.
    """
    if not isinstance(detail, Mapping):
        return UNKNOWN
    identity = _mapping(detail.get("userIdentity"))
    principal = _principal(identity, frozenset(trusted_federation_roles))
    service = _acting_service(identity, detail)
    if not principal.label and service:
        principal = _Principal(service, "", AWS_SERVICE, False)
    if not principal.label:
        return Creator(display="unknown", arn=sanitize_tag_value(principal.arn), kind=UNKNOWN_KIND)
    display, arn = principal.label, principal.arn
    parent = None if principal.human else _parent(detail, service_made=bool(service))
    if parent and service:
        display = f"{service} via {parent.label}"
    elif parent:
        display = f"{principal.label} via {parent.label}"
    elif service and principal.label != service:
        display = f"{principal.label} via {service}"
    if not arn and parent:
        arn = parent.arn
    return Creator(display=sanitize_tag_value(display) or "unknown", arn=sanitize_tag_value(arn), kind=principal.kind)


def sanitize_tag_value(text: object, max_length: int = TAG_VALUE_MAX_LENGTH) -> str:
    """``text`` as a valid SageMaker tag value; never raises.

    Characters outside the TagValue pattern (letters, separators, numbers and ``_ . : / = + - @``)
    become "_" after NFC normalisation (so a decomposed "é" survives); tabs and newlines are not in
    the pattern either. A value longer than ``max_length`` keeps its start and its end around "..."
    (an ARN keeps its type and account and its most specific part, the name). ``None`` is "".
    """
    if text is None:
        return ""
    try:
        raw = text if isinstance(text, str) else str(text)
    except Exception:  # a broken __str__ must not stop tagging; there is nothing readable to keep
        return ""
    clean = "".join(ch if is_allowed_tag_char(ch) else _REPLACEMENT for ch in unicodedata.normalize("NFC", raw))
    return _shorten(clean, _limit(max_length))


def _limit(max_length: object) -> int:
    try:
        return max(0, int(max_length))
    except (TypeError, ValueError, OverflowError):
        return TAG_VALUE_MAX_LENGTH


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    if limit < len(_ELLIPSIS) + 2:
        return text[:limit]
    keep = limit - len(_ELLIPSIS)
    head = keep // 2
    return text[:head] + _ELLIPSIS + text[len(text) - (keep - head) :]


# --- principals -------------------------------------------------------------------------------


def _principal(identity: Mapping, trusted_federation_roles: frozenset[str]) -> _Principal:
    kind = _identity_type(identity)
    if kind == "Root":
        return _Principal("root", _text(identity, "arn"), ROOT, True)
    if kind == "IAMUser":
        return _iam_user(identity)
    if kind in ("AssumedRole", "Role"):
        return _role_session(identity, trusted_federation_roles)
    if kind == "FederatedUser":
        # GetFederationToken: the calling IAM user picks the name, so it proves nobody; shown under that user.
        name = _after(_text(identity, "arn"), ":federated-user/") or _after_colon(_text(identity, "principalId"))
        broker = _text(_mapping(_mapping(identity.get("sessionContext")).get("sessionIssuer")), "userName")
        label = f"iam-user/{broker}/federated/{name}" if broker and name else (f"federated-user/{name}" if name else "")
        return _Principal(label, _text(identity, "arn"), FEDERATED_USER, False)
    if kind in ("SAMLUser", "WebIdentityUser"):  # only on STS AssumeRoleWith* records
        return _Principal(_text(identity, "userName"), _text(identity, "arn"), FEDERATED_USER, True)
    if kind == "IdentityCenterUser":
        return _identity_center_user(identity)
    if kind == "AWSAccount":  # another account's principal, not named in this account's records
        account = _text(identity, "accountId")
        return _Principal(f"aws-account/{account}" if account else "", "", UNKNOWN_KIND, False)
    return _Principal("", _text(identity, "arn"), UNKNOWN_KIND, False)


def _identity_type(identity: Mapping) -> str:
    """The documented ``type``, or one inferred from the ARN when it is missing or "Unknown"."""
    declared = _text(identity, "type")
    if declared and declared != "Unknown":
        return declared
    arn = _text(identity, "arn")
    if arn.endswith(":root"):
        return "Root"
    for marker, inferred in (
        (":user/", "IAMUser"),
        (":assumed-role/", "AssumedRole"),
        (":federated-user/", "FederatedUser"),
    ):
        if marker in arn:
            return inferred
    if _text(_mapping(identity.get("onBehalfOf")), "userId"):
        return "IdentityCenterUser"
    return declared


def _iam_user(identity: Mapping) -> _Principal:
    arn = _text(identity, "arn")
    name = _text(identity, "userName") or _last_segment(_after(arn, ":user/"))
    return _Principal(f"iam-user/{name}" if name else "", arn, IAM_USER, bool(name))


def _role_session(identity: Mapping, trusted_federation_roles: frozenset[str]) -> _Principal:
    arn = _text(identity, "arn")
    context = _mapping(identity.get("sessionContext"))
    issuer = _mapping(context.get("sessionIssuer"))
    issuer_arn = _text(issuer, "arn") or (arn if ":role/" in arn else "")
    assumed = _after(arn, ":assumed-role/")
    role_from_arn, _, session = assumed.partition("/")
    role = _text(issuer, "userName") or role_from_arn or _last_segment(_after(issuer_arn, ":role/"))
    # Session names cannot contain ":"; principalId is "<role id>:<session>" (EC2: "<acct>:aws:ec2-instance:<id>").
    session = session or _after_colon(_text(identity, "principalId"))
    # An Identity Center permission-set role: the AWS-reserved path AND the AWSReservedSSO_ name, and the session's
    # own ARN names the same role (a role name alone is copied by anyone with iam:CreateRole).
    issuer_path_and_name = _after(issuer_arn, ":role/")
    if (
        session
        and issuer_path_and_name.startswith(_SSO_ROLE_PATH.lstrip("/"))
        and role.startswith(_SSO_ROLE_PREFIX)
        and _last_segment(issuer_path_and_name) == role
        and (not role_from_arn or role_from_arn == role)
    ):
        return _Principal(session, arn, SSO_USER, True)
    if issuer_arn and issuer_arn in trusted_federation_roles:
        source_identity = _text(context, "sourceIdentity")
        if source_identity:  # set by the identity provider when it first assumed the role
            return _Principal(source_identity, arn, ASSUMED_ROLE, True)
        if _EMAIL.fullmatch(session):  # SAML / custom federation that names the session after the person
            return _Principal(session, arn, ASSUMED_ROLE, True)
    label = "/".join(part for part in ("role", role, session) if part) if role or session else ""
    return _Principal(label, arn, ASSUMED_ROLE, False)


def _identity_center_user(identity: Mapping) -> _Principal:
    """Identity Center records carry the user's id, not a name; the credentialId is never shown."""
    on_behalf_of = _mapping(identity.get("onBehalfOf"))
    user_id = _text(on_behalf_of, "userId")
    store_arn = _text(on_behalf_of, "identityStoreArn")
    partition = store_arn.split(":")[1] if store_arn.count(":") >= 2 else ""
    arn = f"arn:{partition}:identitystore:::user/{user_id}" if user_id and partition else ""
    name = _text(identity, "userName") or (f"identity-center-user/{user_id}" if user_id else "")
    return _Principal(name, arn, IDENTITY_CENTER_USER, bool(name))


# --- services and their parents ---------------------------------------------------------------


def _acting_service(identity: Mapping, detail: Mapping) -> str:
    """The AWS service that made the call ("" for a direct call); "AWS Internal" (console) is not one."""
    invoked_by = _text(identity, "invokedBy")
    if _SERVICE_PRINCIPAL.fullmatch(invoked_by):
        return invoked_by
    service_made = _text(detail, "eventType") == "AwsServiceEvent" or _text(identity, "type") == "AWSService"
    if service_made:
        return _text(detail, "eventSource") or "aws-service"
    return ""


class _Parent(NamedTuple):
    label: str  # "pipeline/churn-train", "tuning-job/xgb-tuner"
    arn: str  # "" when only the name is known


def _parent(detail: Mapping, *, service_made: bool) -> _Parent | None:
    """The pipeline or tuning job a service-made resource belongs to, when the record says so."""
    request = _mapping(detail.get("requestParameters"))
    execution_arn = _request_tags(request.get("tags")).get(PIPELINE_EXECUTION_TAG, "")
    match = _PIPELINE_IN_EXECUTION_ARN.search(execution_arn)
    if match:
        return _Parent(f"pipeline/{match.group(1)}", execution_arn)
    # Field names as DescribeTrainingJob/CloudTrail would spell them; not confirmed by a captured sample.
    for source in (request, _mapping(detail.get("serviceEventDetails"))):
        for key in ("tuningJobArn", "hyperParameterTuningJobArn"):
            arn = _text(source, key)
            match = _TUNING_JOB_IN_ARN.search(arn)
            if match:
                return _Parent(f"tuning-job/{match.group(1)}", arn)
        name = _text(source, "hyperParameterTuningJobName") or _text(source, "tuningJobName")
        if name:
            return _Parent(f"tuning-job/{name}", "")
    if service_made:
        match = _TUNING_CHILD_JOB_NAME.fullmatch(_text(request, "trainingJobName"))
        if match:
            return _Parent(f"tuning-job/{match.group(1)}", "")
    return None


def _request_tags(tags: object) -> dict[str, str]:
    """requestParameters.tags as a dict; entries may be spelled key/value or Key/Value."""
    if isinstance(tags, Mapping):
        return {str(k): v for k, v in tags.items() if isinstance(v, str)}
    result: dict[str, str] = {}
    if isinstance(tags, list):
        for entry in tags:
            entry = _mapping(entry)
            key, value = entry.get("key", entry.get("Key")), entry.get("value", entry.get("Value"))
            if isinstance(key, str) and isinstance(value, str):
                result[key] = value
    return result


# --- small readers that never raise -----------------------------------------------------------


def _mapping(value: object) -> Mapping:
    return value if isinstance(value, Mapping) else {}


def _text(mapping: Mapping, key: str) -> str:
    value = mapping.get(key)
    return value.strip() if isinstance(value, str) else ""


def _after(text: str, marker: str) -> str:
    return text.partition(marker)[2] if marker in text else ""


def _last_segment(path: str) -> str:
    """The name at the end of an IAM path ("team/ml/alice" -> "alice")."""
    return path.rpartition("/")[2]


def _after_colon(principal_id: str) -> str:
    """The session or user name at the end of a principalId ("AROA...:alice" -> "alice"); "" if none."""
    return principal_id.rpartition(":")[2] if ":" in principal_id else ""
