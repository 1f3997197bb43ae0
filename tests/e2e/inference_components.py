"""SageMaker inference components for moto, which has none: an in-memory service, checked against botocore's model.

moto 5.2 lacks CreateInferenceComponent, DescribeInferenceComponent, ListInferenceComponents and
UpdateInferenceComponentRuntimeConfig; its ListTags / AddTags / DeleteTags fail on an inference-component ARN
(AttributeError: no such resource table), and its Application Auto Scaling refuses the
``sagemaker:inference-component:DesiredCopyCount`` dimension. ``InferenceComponentService`` keeps components per
(account, region) and answers those four operations, and the three tag operations on inference-component ARNs
(every other ARN stays moto's). Use it as a context manager inside the harness or ``mock_aws``; while active it
replaces the harness's "no components" answer to ListInferenceComponents.

- Where it answers: in moto's SageMaker request handler (``SageMakerResponse``), not in a botocore ``before-call``
  hook. mlgov calls member accounts through clients of ``boto3.Session(<spoke role credentials>)``, and each such
  Session has an event emitter of its own, which a hook on boto3's default session never sees. In the handler every
  client of the process arrives, botocore serializes each request and parses each answer, and the account is the one
  moto decides for all its services: the owner of the request's access key (an AssumeRole key belongs to the role's
  account; the harness's bootstrap clients name it in ``x-moto-account-id``). A component created with a member's
  credentials is therefore seen only by requests signed for that member, the spoke role's included, in the request's
  region (its SigV4 scope). An account-region without components answers as SageMaker would: an empty list, or
  "Could not find inference component".
- What it checks: each request document against the operation's input shape (``botocore.validate``'s
  ``validate_parameters``: required and unknown members, types, minimums), plus the model's maximums and enums, which
  botocore leaves to the service; a request that fails is answered with a ValidationException, as SageMaker answers
  (botocore's client refuses most of them before sending, with ParamValidationError; this is the service's side, for
  a client that does not validate). Patterns are not checked. Each answer is checked against the output shape
  (``ParamValidator().validate``) before it is sent: an answer that fails is a bug here, recorded in ``faults`` and
  answered as an InternalFailure with botocore's report (status 400: clients do not retry it).
- What it refuses: on Create, a name taken in the account-region, an endpoint, variant or model moto does not have, a
  request without Specification, and one without RuntimeConfig unless it is an adapter (BaseInferenceComponentName).
  An unknown name or ARN is a ValidationException 'Could not find inference component "<arn>".' (code and phrase as
  SageMaker answers; what follows the phrase is this module's).
- Names: an ARN carries the name lower-cased, as SageMaker writes endpoint ARNs (mlgov's set_schedule describes the
  resource to get the exact name back); names are unique regardless of case and looked up that way.
- Lifecycle, kept simple: a component is InService once created, and UpdateInferenceComponentRuntimeConfig takes
  effect at once (DesiredCopyCount and CurrentCopyCount both the new CopyCount, still InService): there are no
  instances to place copies on. Times come from moto's clock, i.e. the test process's.
- ``requests`` records every request it answered: operation, account, region, the request document, and the caller's
  assumed role and session name (None for keys that are not an AssumeRole's).
- Not modelled: Specifications (several), UpdateInferenceComponent, DeleteInferenceComponent, placement, adapters'
  base component checks; anything not listed stays moto's (NotImplementedError).
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import botocore.session
from botocore import xform_name
from botocore.exceptions import ParamValidationError
from botocore.model import OperationModel, Shape
from botocore.utils import parse_timestamp
from botocore.validate import ParamValidator, validate_parameters
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse
from moto.sts.models import sts_backends

ARN_RESOURCE = "inference-component"
IN_SERVICE = "InService"
TAG_OPERATIONS = ("ListTags", "AddTags", "DeleteTags")
DEFAULT_PAGE_SIZE = {"ListInferenceComponents": 10, "ListTags": 50}


class InternalFailure(ServiceException):
    """What this service answers when its own answer breaks the service model (a bug here, listed in `faults`)."""

    code = "InternalFailure"


@functools.cache
def sagemaker_model():
    return botocore.session.get_session().get_service_model("sagemaker")


def component_arn(account: str, region: str, name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:sagemaker:{region}:{account}:{ARN_RESOURCE}/{name.lower()}"


@dataclass
class InferenceComponent:
    """One component as SageMaker keeps it; `specification` is already in DescribeInferenceComponent's form."""

    name: str
    arn: str
    endpoint_name: str
    endpoint_arn: str
    variant_name: str
    specification: dict[str, Any]
    copies: int | None  # None: an adapter, which has no runtime config of its own
    created: datetime
    modified: datetime
    status: str = IN_SERVICE
    tags: dict[str, str] = field(default_factory=dict)

    def described(self) -> dict[str, Any]:
        """DescribeInferenceComponent's answer."""
        described = {
            "InferenceComponentName": self.name,
            "InferenceComponentArn": self.arn,
            "EndpointName": self.endpoint_name,
            "EndpointArn": self.endpoint_arn,
            "VariantName": self.variant_name,
            "Specification": self.specification,
            "CreationTime": self.created,
            "LastModifiedTime": self.modified,
            "InferenceComponentStatus": self.status,
        }
        if self.copies is not None:
            described["RuntimeConfig"] = {"DesiredCopyCount": self.copies, "CurrentCopyCount": self.copies}
        return described

    def summary(self) -> dict[str, Any]:
        """One item of ListInferenceComponents."""
        return {
            "InferenceComponentName": self.name,
            "InferenceComponentArn": self.arn,
            "EndpointName": self.endpoint_name,
            "EndpointArn": self.endpoint_arn,
            "VariantName": self.variant_name,
            "CreationTime": self.created,
            "LastModifiedTime": self.modified,
            "InferenceComponentStatus": self.status,
        }


_SORT_KEYS: dict[str, Callable[[InferenceComponent], Any]] = {
    "Name": lambda c: c.name.lower(),
    "CreationTime": lambda c: c.created,
    "Status": lambda c: c.status,
}


@dataclass(frozen=True)
class ComponentRequest:
    """One request the service answered, and who sent it."""

    operation: str
    account: str
    region: str
    request: Mapping[str, Any]
    caller_role_arn: str | None
    session_name: str | None


class InferenceComponentService:
    """Inference components per (account, region), served from moto's SageMaker request handler (module docstring)."""

    def __init__(self) -> None:
        self._components: dict[tuple[str, str], dict[str, InferenceComponent]] = {}
        self.requests: list[ComponentRequest] = []
        self.faults: list[str] = []  # answers that broke the output shape: bugs of this module
        self._lock = threading.Lock()  # moto's server answers each request on a thread of its own
        self._patches = ExitStack()

    def __enter__(self) -> InferenceComponentService:
        answers = {
            "CreateInferenceComponent": self._create,
            "DescribeInferenceComponent": self._describe,
            "ListInferenceComponents": self._list,
            "UpdateInferenceComponentRuntimeConfig": self._update_runtime_config,
            "ListTags": self._list_tags,
            "AddTags": self._add_tags,
            "DeleteTags": self._delete_tags,
        }
        for operation, answer in answers.items():
            method = xform_name(operation)
            handler = self._handler(operation, answer, getattr(SageMakerResponse, method, None))
            self._patches.enter_context(mock.patch.object(SageMakerResponse, method, handler, create=True))
        return self

    def __exit__(self, *exc) -> None:
        self._patches.close()

    # ---- moto's side ------------------------------------------------------------------------------------------------

    def _handler(self, operation: str, answer: Callable, moto_own: Callable | None) -> Callable:
        def handle(response):
            document = json.loads(response.body or "{}")
            if operation in TAG_OPERATIONS and not _names_component(document.get("ResourceArn")):
                return moto_own(response)  # a tag call on another resource type: moto's
            return self._serve(response, operation, document, answer)

        return handle

    def _serve(self, response, operation: str, document: dict, answer: Callable):
        model = sagemaker_model().operation_model(operation)
        _validate_request(document, model)
        account, region = response.current_account, response.region
        with self._lock:
            result = answer(account, region, document)
            self.requests.append(
                ComponentRequest(operation, account, region, document, *_caller(response.get_access_key()))
            )
        if model.output_shape is not None:
            report = ParamValidator().validate(result, model.output_shape)
            if report.has_errors():
                self.faults.append(f"{operation}: {report.generate_report()}")
                raise InternalFailure(f"the harness's answer breaks the service model: {report.generate_report()}")
        return ActionResult(result)

    # ---- the operations (called with the lock held) ---------------------------------------------------------------

    def _create(self, account: str, region: str, request: dict) -> dict:
        backend = sagemaker_backends[account][region]
        components = self._components.setdefault((account, region), {})
        name = request["InferenceComponentName"]
        arn = component_arn(account, region, name)
        if name.lower() in components:
            raise ValidationError(f'Cannot create already existing inference component "{arn}".')
        endpoint = backend.describe_endpoint(request["EndpointName"])  # moto's "Could not find endpoint"
        variants = [variant["VariantName"] for variant in endpoint["ProductionVariants"]]
        variant = request.get("VariantName") or (variants[0] if len(variants) == 1 else None)
        if variant not in variants:
            raise ValidationError(
                f"Variant {request.get('VariantName')!r} is not a production variant of endpoint "
                f"{request['EndpointName']} ({', '.join(variants)})"
            )
        if "Specifications" in request:
            raise ValidationError("the harness models one Specification per component, not Specifications")
        specification = request.get("Specification")
        if specification is None:
            raise ValidationError("Specification is required")
        if specification.get("ModelName"):
            backend.describe_model(specification["ModelName"])  # moto's "Could not find model"
        runtime = request.get("RuntimeConfig")
        if runtime is None and not specification.get("BaseInferenceComponentName"):
            raise ValidationError("RuntimeConfig is required for an inference component that is not an adapter")
        now = _now()
        components[name.lower()] = InferenceComponent(
            name=name,
            arn=arn,
            endpoint_name=endpoint["EndpointName"],
            endpoint_arn=endpoint["EndpointArn"],
            variant_name=variant,
            specification=_described_specification(specification),
            copies=None if runtime is None else runtime["CopyCount"],
            created=now,
            modified=now,
            tags={tag["Key"]: tag["Value"] for tag in request.get("Tags", [])},
        )
        return {"InferenceComponentArn": arn}

    def _describe(self, account: str, region: str, request: dict) -> dict:
        return self._named(account, region, request["InferenceComponentName"]).described()

    def _list(self, account: str, region: str, request: dict) -> dict:
        wanted = {
            "EndpointNameEquals": lambda c, v: c.endpoint_name == v,
            "VariantNameEquals": lambda c, v: c.variant_name == v,
            "StatusEquals": lambda c, v: c.status == v,
            "NameContains": lambda c, v: v.lower() in c.name.lower(),
            "CreationTimeBefore": lambda c, v: c.created < parse_timestamp(v),
            "CreationTimeAfter": lambda c, v: c.created > parse_timestamp(v),
            "LastModifiedTimeBefore": lambda c, v: c.modified < parse_timestamp(v),
            "LastModifiedTimeAfter": lambda c, v: c.modified > parse_timestamp(v),
        }
        found = [
            component
            for component in self._components.get((account, region), {}).values()
            if all(test(component, request[key]) for key, test in wanted.items() if key in request)
        ]
        found.sort(
            key=_SORT_KEYS[request.get("SortBy", "CreationTime")],
            reverse=request.get("SortOrder", "Descending") == "Descending",
        )
        page, token = _page(found, request, DEFAULT_PAGE_SIZE["ListInferenceComponents"])
        return {"InferenceComponents": [component.summary() for component in page]} | token

    def _update_runtime_config(self, account: str, region: str, request: dict) -> dict:
        component = self._named(account, region, request["InferenceComponentName"])
        if component.copies is None:
            raise ValidationError(f'Inference component "{component.arn}" is an adapter: it has no runtime config')
        component.copies = request["DesiredRuntimeConfig"]["CopyCount"]
        component.modified = _now()
        return {"InferenceComponentArn": component.arn}

    def _list_tags(self, account: str, region: str, request: dict) -> dict:
        component = self._by_arn(account, region, request["ResourceArn"])
        tags = [{"Key": key, "Value": value} for key, value in component.tags.items()]
        page, token = _page(tags, request, DEFAULT_PAGE_SIZE["ListTags"])
        return {"Tags": page} | token

    def _add_tags(self, account: str, region: str, request: dict) -> dict:
        component = self._by_arn(account, region, request["ResourceArn"])
        component.tags.update({tag["Key"]: tag["Value"] for tag in request["Tags"]})  # a key's new value replaces it
        return {"Tags": request["Tags"]}

    def _delete_tags(self, account: str, region: str, request: dict) -> dict:
        component = self._by_arn(account, region, request["ResourceArn"])
        for key in request["TagKeys"]:
            component.tags.pop(key, None)
        return {}

    def _named(self, account: str, region: str, name: str) -> InferenceComponent:
        component = self._components.get((account, region), {}).get(name.lower())
        if component is None:
            raise ValidationError(f'Could not find inference component "{component_arn(account, region, name)}".')
        return component

    def _by_arn(self, account: str, region: str, arn: str) -> InferenceComponent:
        """The component an ARN names, if it is in the request's own account and region."""
        parts = arn.split(":", 5)
        if (parts[3], parts[4]) == (region, account):
            component = self._components.get((account, region), {}).get(parts[5].split("/", 1)[1].lower())
            if component is not None:
                return component
        raise ValidationError(f'Could not find inference component "{arn}".')


def _names_component(arn: object) -> bool:
    parts = arn.split(":", 5) if isinstance(arn, str) else []
    return len(parts) == 6 and parts[2] == "sagemaker" and parts[5].startswith(f"{ARN_RESOURCE}/")


def _described_specification(specification: Mapping[str, Any]) -> dict[str, Any]:
    """CreateInferenceComponent's Specification as DescribeInferenceComponent shows it: the container's Image becomes
    its DeployedImage (not resolved to a digest here)."""
    described = {key: value for key, value in specification.items() if key != "Container"}
    if "Container" in specification:
        container = dict(specification["Container"])
        image = container.pop("Image", None)
        described["Container"] = container | ({"DeployedImage": {"SpecifiedImage": image}} if image else {})
    return described


def _page(items: list, request: Mapping[str, Any], default_size: int) -> tuple[list, dict[str, str]]:
    """One page of `items` from the request's NextToken (an offset this service handed out) and MaxResults."""
    token = request.get("NextToken") or "0"
    if not token.isdigit():
        raise ValidationError(f"Invalid pagination token {token!r}")
    start, size = int(token), request.get("MaxResults", default_size)
    end = start + size
    return items[start:end], ({"NextToken": str(end)} if end < len(items) else {})


def _validate_request(document: Mapping[str, Any], model: OperationModel) -> None:
    """botocore's validation of the input shape, then what botocore leaves to the service (maximums, enums);
    a ValidationException for the first that fails."""
    try:
        validate_parameters(document, model.input_shape)
    except ParamValidationError as err:
        raise ValidationError(str(err)) from None
    problems = list(_service_constraints(document, model.input_shape, ""))
    if problems:
        count = f"{len(problems)} validation error{'s' if len(problems) > 1 else ''}"
        raise ValidationError(f"{count} detected: {'; '.join(problems)}")


def _service_constraints(value: Any, shape: Shape, path: str) -> Iterator[str]:
    """The model's `max` (length or value) and `enum` violations in `value`, in SageMaker's wording."""
    maximum = shape.metadata.get("max")
    if shape.type_name == "structure":
        for name, member in shape.members.items():
            if name in value:
                yield from _service_constraints(value[name], member, f"{path}.{name}" if path else name)
    elif shape.type_name == "list":
        if maximum is not None and len(value) > maximum:
            yield _violation(path, f"Member must have length less than or equal to {maximum}")
        for index, item in enumerate(value):
            yield from _service_constraints(item, shape.member, f"{path}.{index + 1}")
    elif shape.type_name == "map":
        for key, item in value.items():
            yield from _service_constraints(item, shape.value, f"{path}.{key}")
    elif shape.type_name == "string":
        if shape.enum and value not in shape.enum:
            yield _violation(path, "Member must satisfy enum value set", value)
        if maximum is not None and len(value) > maximum:
            yield _violation(path, f"Member must have length less than or equal to {maximum}")
    elif shape.type_name in ("integer", "long", "float", "double") and maximum is not None and value > maximum:
        yield _violation(path, f"Member must have value less than or equal to {maximum}", value)


def _violation(path: str, rule: str, value: Any = None) -> str:
    shown = "" if value is None else f" '{value}'"
    return f"Value{shown} at '{path}' failed to satisfy constraint: {rule}"


def _caller(access_key: str) -> tuple[str | None, str | None]:
    """(role ARN, session name) of the AssumeRole that issued `access_key`; (None, None) for other keys."""
    for account in list(sts_backends.values()):
        for backend in list(account.values()):
            for assumed in list(backend.assumed_roles):
                if assumed.access_key_id == access_key:
                    return assumed.role_arn, assumed.session_name
    return None, None


def _now() -> datetime:
    """moto's clock (the test process's), made aware."""
    return utcnow().replace(tzinfo=UTC)
