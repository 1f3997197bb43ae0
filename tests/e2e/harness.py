"""The synthesized templates deployed onto a local moto server, their Lambda functions run in this process.

Shared by the end-to-end tests and ``make demo``: nothing is wired by hand where the templates wire it.

- ``Templates`` holds MlgovOrg, MlgovHub and the spoke template the OrgStack's StackSet rolls out (read from a cloud
  assembly such as ``cdk.out``, or the one the test session synthesizes).
- ``Harness`` starts ``moto.server.ThreadedMotoServer`` on 127.0.0.1 and points every boto3 client of the process at it
  (``AWS_ENDPOINT_URL``). ``deploy_organization`` builds the organization the OrgStack expects (management account,
  one OU per target OU, the policies attached); ``deploy_hub`` creates the hub template's resources in the hub
  account; ``deploy_spokes`` plays the StackSet: one spoke instance per account of the target OUs × the StackSet's
  regions. Each ``AWS::Lambda::Function`` becomes its ``Handler`` string, called in process with its own resolved
  environment (``lambda_shim.InProcessLambdas``); rules, state machines, schedules and the Function URL reach them
  exactly where the template points.

Where moto is not AWS, the harness makes it behave like AWS (each one is a documented patch, active only inside the
harness):
- EventBridge: a rule target on another account's bus delivers the event unchanged (moto re-emits it as the target
  account's own and drops ``resources``) if the target bus's policy admits the sender (its organization); a Lambda
  target queues an asynchronous invocation (moto would start Docker). The organization has the config's ids.
- STS: AssumeRole of a role that does not exist, or whose trust policy does not admit the caller's role, is refused
  (moto grants any role): each function runs with a session of its own execution role, so a spoke trusting the
  wrong hub role fails here as in AWS.
- Lambda: Invoke of a template function, from any client (Step Functions, `mlgov doctor`), runs it in process.
- SageMaker: ListInferenceComponents (which moto lacks) answers "none": the harness deploys no inference component.
- S3: an object request from a role of another account on a hub bucket is admitted only if the bucket's policy allows
  it (mlgov.domain.iam_eval.resource_policy_allows, with the caller's aws:PrincipalOrgPaths): moto checks none.
- Organizations: moto keeps an organization per management account; the hub (a delegated administrator, see
  README) reads the management account's organization.
To each function's template environment the harness adds only its execution role's session credentials,
``MLGOV_ENDPOINT_URL`` and ``MLGOV_SLACK_API_URL`` (the local moto server and Slack Web API), and ``OVERRIDES``.
"""

from __future__ import annotations

import base64
import copy
import fnmatch
import hashlib
import hmac
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from unittest import mock
from urllib.parse import parse_qs, urlencode

import boto3
from botocore.config import Config

from tests.e2e.lambda_shim import InProcessLambdas, Invocation

ORG_STACK = "MlgovOrg"
HUB_STACK = "MlgovHub"
SPOKE_STACK = "MlgovSpoke"
BOOTSTRAP_ACCOUNT = "123456789012"  # moto's default account: only used to reach the others
ACCESS_ROLE = "OrganizationAccountAccessRole"  # what Organizations creates in every account it creates
SHUTDOWN_POLL_SECONDS = 0.02  # how often a local server's loop looks for a stop request (the library default is 0.5 s)
FAKE_SECRETS = {"bot_token": "xoxb-mlgov-local-bot-token", "signing_secret": "8f742231b10e8888abcd99yyyzzz85a5"}
# The environment the harness adds to the template's, per handler: why each differs from the deployed stack.
OVERRIDES: dict[str, dict[str, str]] = {
    # moto lacks the List operations of several SageMaker types (Studio apps/spaces/profiles, labeling jobs, feature
    # groups, inference components): the scanner scans the types moto can list instead of reporting errors for them.
    "mlgov.handlers.scanner.handler": {
        "MLGOV_RESOURCE_TYPES": json.dumps(
            ["endpoint", "notebook-instance", "training-job", "processing-job", "transform-job"]
        )
    },
}


# ------------------------------------------------------------------------------------------------ templates


@dataclass(frozen=True)
class Templates:
    hub: dict
    spoke: dict
    org: dict
    hub_account: str
    hub_region: str
    management_account: str

    @classmethod
    def from_cloud_assembly(cls, directory: Path | str) -> Templates:
        """Templates and environments from a `cdk synth` output directory (org mode)."""
        directory = Path(directory)
        manifest = json.loads((directory / "manifest.json").read_text())
        environments = {
            name: artifact["environment"]
            for name, artifact in manifest["artifacts"].items()
            if artifact.get("type") == "aws:cloudformation:stack"
        }
        if ORG_STACK not in environments:
            raise ValueError(f"{directory} holds no {ORG_STACK} stack: the harness needs the org-mode config")
        templates = {
            name: json.loads((directory / f"{name}.template.json").read_text())
            for name in (ORG_STACK, HUB_STACK, SPOKE_STACK)
            if (directory / f"{name}.template.json").exists()
        }
        return cls._build(templates, environments)

    @classmethod
    def _build(cls, templates: dict[str, dict], environments: dict[str, str]) -> Templates:
        org = templates[ORG_STACK]
        spoke = _stack_set_template(org) or templates.get(SPOKE_STACK)
        if spoke is None:
            raise ValueError(f"no spoke template: {ORG_STACK} has no StackSet and there is no {SPOKE_STACK} stack")
        hub_account, hub_region = environments[HUB_STACK].removeprefix("aws://").split("/")
        management_account = environments[ORG_STACK].removeprefix("aws://").split("/")[0]
        return cls(templates[HUB_STACK], spoke, org, hub_account, hub_region, management_account)

    @property
    def stack_set(self) -> dict | None:
        found = _resources(self.org, "AWS::CloudFormation::StackSet")
        return next(iter(found.values()))["Properties"] if found else None

    @property
    def target_ous(self) -> list[str]:
        if self.stack_set:
            groups = self.stack_set["StackInstancesGroup"]
            return sorted({ou for group in groups for ou in group["DeploymentTargets"]["OrganizationalUnitIds"]})
        return sorted(
            {
                t
                for p in _resources(self.org, "AWS::Organizations::Policy").values()
                for t in p["Properties"]["TargetIds"]
            }
        )

    @property
    def member_regions(self) -> list[str]:
        if self.stack_set:
            return sorted({region for group in self.stack_set["StackInstancesGroup"] for region in group["Regions"]})
        regions = json.loads(self.function_environment("mlgov.handlers.scanner.handler")["MLGOV_REGIONS"])
        return sorted(regions)

    @property
    def organization_id(self) -> str | None:
        """The organization the hub bus admits (its policy's aws:PrincipalOrgID), as in the config."""
        for resource in _resources(self.hub, "AWS::Events::EventBusPolicy").values():
            condition = resource["Properties"].get("Statement", {}).get("Condition", {})
            org_id = condition.get("StringEquals", {}).get("aws:PrincipalOrgID")
            if isinstance(org_id, str):
                return org_id
        return None

    def function_environment(self, handler: str) -> dict:
        [function] = [
            r["Properties"]
            for r in _resources(self.hub, "AWS::Lambda::Function").values()
            if r["Properties"]["Handler"] == handler
        ]
        return function.get("Environment", {}).get("Variables", {})


def _stack_set_template(org: dict) -> dict | None:
    for resource in _resources(org, "AWS::CloudFormation::StackSet").values():
        body = resource["Properties"].get("TemplateBody")
        if body is not None:
            return json.loads(body) if isinstance(body, str) else body
    return None


def _resources(template: dict, resource_type: str) -> dict[str, dict]:
    return {k: r for k, r in template.get("Resources", {}).items() if r["Type"] == resource_type}


# ------------------------------------------------------------------------------------------------ intrinsics


@dataclass
class Stack:
    """One deployed template: the physical id (Ref) and attributes (GetAtt) of each resource, and its pseudo values."""

    name: str
    template: dict
    account: str
    region: str
    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.refs.update(
            {
                "AWS::AccountId": self.account,
                "AWS::Region": self.region,
                "AWS::Partition": "aws",
                "AWS::URLSuffix": "amazonaws.com",
                "AWS::StackName": self.name,
                "AWS::NoValue": None,
            }
        )
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self.resolve(self.template["Conditions"][name]))
        return self._conditions[name]

    def active(self, logical_id: str) -> bool:
        condition = self.template["Resources"][logical_id].get("Condition")
        return condition is None or self.condition(condition)

    def resources(self, resource_type: str) -> Iterator[tuple[str, dict]]:
        for logical_id, resource in self.template["Resources"].items():
            if resource["Type"] == resource_type and self.active(logical_id):
                yield logical_id, resource.get("Properties", {})

    def physical_name(self, logical_id: str, limit: int = 63) -> str:
        return f"{self.name}-{logical_id}".lower()[:limit]

    def resolve(self, value: object) -> object:
        """A template value with Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Equals, Fn::If, Fn::Select and Fn::Split
        evaluated; anything else (or a resource not deployed yet) is wiring the harness does not know: KeyError."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            [(name, argument)] = value.items()
            if name == "Ref":
                return self.refs[argument]
            if name == "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self.attributes[(logical_id, attribute)]
            if name == "Fn::Join":
                separator, parts = argument
                return separator.join(str(self.resolve(part)) for part in self.resolve(parts))
            if name == "Fn::Sub":
                text = argument if isinstance(argument, str) else argument[0]
                extra = {} if isinstance(argument, str) else self.resolve(argument[1])
                for key in _sub_names(text):
                    replacement = (
                        extra[key]
                        if key in extra
                        else self.resolve({"Fn::GetAtt": key.split(".", 1)} if "." in key else {"Ref": key})
                    )
                    text = text.replace("${" + key + "}", str(replacement))
                return text
            if name == "Fn::Equals":
                left, right = (self.resolve(item) for item in argument)
                return left == right
            if name == "Fn::If":
                condition, when_true, when_false = argument
                return self.resolve(when_true if self.condition(condition) else when_false)
            if name == "Condition":
                return self.condition(argument)
            if name == "Fn::Or":
                return any(self.resolve(item) for item in argument)
            if name == "Fn::And":
                return all(self.resolve(item) for item in argument)
            if name == "Fn::Not":
                return not self.resolve(argument[0])
            if name == "Fn::Select":
                index, items = argument
                return self.resolve(items)[int(self.resolve(index))]
            if name == "Fn::Split":
                separator, text = argument
                return str(self.resolve(text)).split(separator)
            if name.startswith("Fn::"):
                raise KeyError(f"{name} {argument!r}: not resolvable by the harness")
        return {key: self.resolve(item) for key, item in value.items()}


def _sub_names(text: str) -> list[str]:
    names, start = [], 0
    while (begin := text.find("${", start)) != -1:
        end = text.index("}", begin)
        if not text.startswith("${!", begin):
            names.append(text[begin + 2 : end])
        start = end + 1
    return names


# ------------------------------------------------------------------------------------------------ local services


class _LocalHttp:
    """A ThreadingHTTPServer on 127.0.0.1 (a free port) serving `handler` from a daemon thread until `close`."""

    def _serve(self, handler: type[BaseHTTPRequestHandler]) -> str:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(SHUTDOWN_POLL_SECONDS,), daemon=True)
        self._thread.start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class SlackWebApi(_LocalHttp):
    """A local Slack Web API (chat.postMessage, chat.update, users.info from `users`: id -> profile e-mail) and
    response_url receiver that records every request."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.users: dict[str, str] = {}
        self._counter = 0
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                try:
                    document = (
                        json.loads(body) if body.startswith("{") else {k: v[0] for k, v in parse_qs(body).items()}
                    )
                except ValueError:
                    document = {"raw": body}
                with outer._lock:
                    outer._counter += 1
                    ts = document.get("ts") or f"1767225600.{outer._counter:06d}"
                    outer.requests.append(
                        {
                            "path": self.path,
                            "body": document,
                            "ts": ts,
                            "authorization": self.headers.get("Authorization"),
                        }
                    )
                answer = json.dumps(outer._answer(self.path, document, ts)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self.url = self._serve(Handler)

    def _answer(self, path: str, document: dict, ts: str) -> dict:
        if path == "/api/users.info":
            email = self.users.get(document.get("user", ""))
            if not email:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": {"id": document["user"], "profile": {"email": email}}}
        return {"ok": True, "channel": document.get("channel"), "ts": ts}

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def messages(self, method: str = "chat.postMessage") -> list[dict]:
        return [r for r in self.requests if r["path"] == f"/api/{method}"]

    def replies(self) -> list[dict]:
        return [r for r in self.requests if r["path"].startswith("/response/")]


class FunctionUrl(_LocalHttp):
    """An AWS::Lambda::Url on 127.0.0.1: each HTTP request becomes a Function URL (payload 2.0) event."""

    def __init__(self, lambdas: InProcessLambdas, logical_id: str) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    text, encoded = body.decode("utf-8"), False
                except UnicodeDecodeError:
                    text, encoded = base64.b64encode(body).decode(), True
                event = {
                    "version": "2.0",
                    "rawPath": self.path.split("?", 1)[0],
                    "rawQueryString": self.path.split("?", 1)[1] if "?" in self.path else "",
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": text,
                    "isBase64Encoded": encoded,
                    "requestContext": {"http": {"method": "POST", "path": self.path, "sourceIp": "127.0.0.1"}},
                }
                call = lambdas.invoke(logical_id, event)
                if call.error is not None:
                    status, headers, payload = (
                        502,
                        {"Content-Type": "application/json"},
                        b'{"message":"Internal Server Error"}',
                    )
                else:
                    status = int(call.result.get("statusCode", 200))
                    headers = call.result.get("headers") or {}
                    payload = str(call.result.get("body", "")).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.url = self._serve(Handler) + "/"


# ------------------------------------------------------------------------------------------------ the harness


def _moto_server():
    """moto's ThreadedMotoServer on 127.0.0.1 (a free port), whose loop stops within SHUTDOWN_POLL_SECONDS."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from moto.server import ThreadedMotoServer
    from werkzeug.serving import make_server

    class QuickToStop(ThreadedMotoServer):
        def _server_entry(self) -> None:  # ThreadedMotoServer's own, with a shorter shutdown poll
            app = DomainDispatcherApplication(create_backend_app)
            self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            self._server.serve_forever(poll_interval=SHUTDOWN_POLL_SECONDS)

    return QuickToStop(ip_address="127.0.0.1", port=0, verbose=False)


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    ou: str | None  # the template's OU id it sits in (None: the management account)


class Harness:
    """Use as a context manager; see the module docstring. Not thread-safe itself: one driver thread."""

    def __init__(self, templates: Templates) -> None:
        self.templates = templates
        self.hub: Stack | None = None
        self.spokes: dict[tuple[str, str], Stack] = {}
        self.accounts: dict[str, Account] = {}
        self.ou_ids: dict[str, str] = {}  # the template's OU id → moto's
        self.org_path_prefix = ""  # "<organization id>/<root id>/"
        self.bucket_policies: dict[str, dict] = {}  # hub bucket name → its resolved policy (enforced on members)
        self.refused_s3: list[dict] = []  # member requests the archive's bucket policy did not admit
        self.lambdas: InProcessLambdas | None = None
        self.slack: SlackWebApi | None = None
        self.function_url: FunctionUrl | None = None
        self._pending: list[tuple[str, dict]] = []
        self.refused_events: list[dict] = []  # cross-account events the target bus's policy did not admit
        self._credentials: dict[tuple[str, str], dict] = {}  # (account, role) → AssumeRole credentials
        self._pending_lock = threading.Lock()
        self._schedules: dict[str, dict] = {}
        self._patches: list = []
        self._saved_environ: dict[str, str] | None = None
        self._server = None
        self.endpoint_url = ""

    # ---- lifecycle --------------------------------------------------------------------------------------------

    def __enter__(self) -> Harness:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)

        self._saved_environ = dict(os.environ)
        self._server = _moto_server()
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        for name in (
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
            "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "MOTO_ACCOUNT_ID",
            "AWS_SESSION_TOKEN",
        ):
            os.environ.pop(name, None)
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint_url,
                "MOTO_PORT": str(port),  # where moto's Step Functions engine sends a Distributed Map's ItemReader
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_REGION": self.templates.hub_region,
                "AWS_DEFAULT_REGION": self.templates.hub_region,
                "AWS_CONFIG_FILE": "/nonexistent/mlgov-harness/config",
                "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/mlgov-harness/credentials",
            }
        )
        boto3.DEFAULT_SESSION = None
        self._post("/moto-api/config", {"stepfunctions": {"execute_state_machine": True}})
        self.slack = SlackWebApi()
        self._patch_moto()
        return self

    def __exit__(self, *exc) -> None:
        if self.lambdas is not None:
            self.lambdas.__exit__(None, None, None)
        if self.function_url is not None:
            self.function_url.close()
        if self.slack is not None:
            self.slack.close()
        for patch in reversed(self._patches):
            patch.stop()
        try:
            self._post("/moto-api/reset", {})
        finally:
            self._server.stop()
            os.environ.clear()
            os.environ.update(self._saved_environ or {})
            boto3.DEFAULT_SESSION = None
            from tests.e2e.lambda_shim import clear_mlgov_caches

            clear_mlgov_caches()

    def _post(self, path: str, document: dict) -> None:
        request = urllib.request.Request(
            f"{self.endpoint_url}{path}",
            data=json.dumps(document).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=10).read()

    # ---- sessions -----------------------------------------------------------------------------------------------

    def session(self, account: str, region: str | None = None, role: str = ACCESS_ROLE) -> boto3.Session:
        """Credentials in `account` (the role Organizations creates, unless `role` says otherwise)."""
        region = region or self.templates.hub_region
        if (account, role) not in self._credentials:  # moto's sessions never expire: one AssumeRole per role
            self._credentials[(account, role)] = self._bootstrap("sts", region).assume_role(
                RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName="mlgov-harness"
            )["Credentials"]
        credentials = self._credentials[(account, role)]
        return boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=region,
        )

    def _bootstrap(self, service: str, region: str | None = None, account: str | None = None):
        """A client of moto's default account, or (with `account`) acting in that account through moto's header."""
        client = boto3.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name=region or self.templates.hub_region,
        ).client(service, config=Config(retries={"max_attempts": 1}))
        if account:
            client.meta.events.register(
                "before-sign.*.*", lambda request, **_: request.headers.__setitem__("x-moto-account-id", account)
            )
        return client

    # ---- the organization (what exists before mlgov) ---------------------------------------------------------

    def deploy_organization(self, members: Mapping[str, str], outside: Mapping[str, str] | None = None) -> None:
        """The management account's organization: the hub and `members` ({account id: name}) in the first target OU,
        an OrganizationAccountAccessRole in each, and the OrgStack's policies attached to the target OUs. `outside`
        accounts stay in the root: no StackSet instance, so no spoke role."""
        from moto.organizations import models as organizations_models

        management = self.templates.management_account
        self._access_role(management)
        org = self.session(management, "us-east-1").client("organizations")
        # The organization has the config's ids: a root id target is the root, each OU id an OU under it.
        targets = self.templates.target_ous
        roots = [t for t in targets if t.startswith("r-")]
        root_id = roots[0] if roots else "r-" + next(t for t in targets if t.startswith("ou-")).split("-")[1]
        org_id = self.templates.organization_id or organizations_models.utils.make_random_org_id()
        with (
            mock.patch.object(organizations_models.utils, "make_random_root_id", lambda: root_id),
            mock.patch.object(organizations_models.utils, "make_random_org_id", lambda: org_id),
        ):
            org.create_organization(FeatureSet="ALL")
        root = org.list_roots()["Roots"][0]["Id"]
        self.org_path_prefix = f"{org_id}/{root}/"
        for index, template_ou in enumerate(targets):
            if template_ou.startswith("r-"):
                self.ou_ids[template_ou] = root
                continue
            with mock.patch.object(organizations_models.utils, "make_random_ou_id", lambda _root, ou=template_ou: ou):
                self.ou_ids[template_ou] = org.create_organizational_unit(
                    ParentId=root, Name=f"ml-workloads-{index + 1}"
                )["OrganizationalUnit"]["Id"]
        self.accounts[management] = Account(management, "management", None)
        first_ou = self.templates.target_ous[0]
        placed = {account: first_ou for account in (self.templates.hub_account, *members)}
        placed |= dict.fromkeys(outside or {}, None)
        names = {self.templates.hub_account: "mlgov-hub", **members, **(outside or {})}
        for account_id, ou in placed.items():
            with mock.patch.object(organizations_models.utils, "make_random_account_id", lambda a=account_id: a):
                org.create_account(AccountName=names[account_id], Email=f"{names[account_id]}@example.com")
            if ou is not None:
                org.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=self.ou_ids[ou])
            self._access_role(account_id)
            self.accounts[account_id] = Account(account_id, names[account_id], ou)
        # The hub reads the organization as its delegated administrator (README, "Organization rollout").
        backends = organizations_models.organizations_backends
        backends[self.templates.hub_account]["aws"] = backends[management]["aws"]
        org_stack = Stack(ORG_STACK, self.templates.org, management, "us-east-1")
        for _, properties in org_stack.resources("AWS::Organizations::Policy"):
            policy = org.create_policy(
                Content=json.dumps(properties["Content"]),
                Description=properties.get("Description", ""),
                Name=properties["Name"],
                Type=properties["Type"],
            )["Policy"]["PolicySummary"]["Id"]
            for target in properties["TargetIds"]:
                org.attach_policy(PolicyId=policy, TargetId=self.ou_ids[target])

    def _access_role(self, account: str) -> None:
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{BOOTSTRAP_ACCOUNT}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        iam = self._bootstrap("iam", account=account)
        if not any(
            role["RoleName"] == ACCESS_ROLE for role in iam.list_roles()["Roles"]
        ):  # moto's CreateAccount adds it
            iam.create_role(RoleName=ACCESS_ROLE, AssumeRolePolicyDocument=json.dumps(trust))

    def organization_trail(self) -> None:
        """What a platform team has before mlgov: a multi-region trail recording write management events. An
        organization trail shows in every member account; moto has no organization trails, so each account gets one."""
        for account in self.accounts:
            session = self.session(account, "us-east-1")
            bucket = f"cloudtrail-{account}"
            session.client("s3").create_bucket(Bucket=bucket)
            cloudtrail = session.client("cloudtrail")
            cloudtrail.create_trail(Name="org-trail", S3BucketName=bucket, IsMultiRegionTrail=True)
            cloudtrail.put_event_selectors(
                TrailName="org-trail",
                EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}],
            )
            cloudtrail.start_logging(Name="org-trail")

    def write_profiles(self, path: Path) -> dict[str, str]:
        """A shared-credentials file with one profile per account (its name), for commands that take --profile."""
        lines = []
        for account in self.accounts.values():
            credentials = self.session(account.id).get_credentials().get_frozen_credentials()
            lines += [
                f"[{account.name}]",
                f"aws_access_key_id = {credentials.access_key}",
                f"aws_secret_access_key = {credentials.secret_key}",
                f"aws_session_token = {credentials.token}",
                "",
            ]
        path.write_text("\n".join(lines))
        return {account.id: account.name for account in self.accounts.values()}

    def governed_accounts(self) -> list[str]:
        """The accounts the StackSet deploys to: every account of the target OUs."""
        return sorted(a.id for a in self.accounts.values() if a.ou in self.templates.target_ous)

    # ---- the hub ----------------------------------------------------------------------------------------------

    def deploy_hub(self) -> Stack:
        """MlgovHub's resources in the hub account and region; its functions served in process."""
        templates = self.templates
        hub = Stack(HUB_STACK, templates.hub, templates.hub_account, templates.hub_region)
        session = self.session(hub.account, hub.region)
        self._use_credentials(session)
        self.hub = hub
        self._prerequisites(session)
        kms, s3 = session.client("kms"), session.client("s3")
        for logical_id, properties in hub.resources("AWS::KMS::Key"):
            metadata = kms.create_key(Description=properties.get("Description", logical_id))["KeyMetadata"]
            hub.refs[logical_id], hub.attributes[(logical_id, "Arn")] = metadata["KeyId"], metadata["Arn"]
        for logical_id, properties in hub.resources("AWS::S3::Bucket"):
            name = properties.get("BucketName") or hub.physical_name(logical_id)
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": hub.region})
            if properties.get("VersioningConfiguration", {}).get("Status") == "Enabled":
                s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
            if "BucketEncryption" in properties:
                s3.put_bucket_encryption(
                    Bucket=name,
                    ServerSideEncryptionConfiguration={
                        "Rules": [  # CloudFormation's ServerSideEncryptionByDefault is the API's Apply...ByDefault
                            {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
                            for rule in hub.resolve(properties["BucketEncryption"]["ServerSideEncryptionConfiguration"])
                        ]
                    },
                )
            hub.refs[logical_id], hub.attributes[(logical_id, "Arn")] = name, f"arn:aws:s3:::{name}"
        for _, properties in hub.resources("AWS::S3::BucketPolicy"):
            self.bucket_policies[hub.resolve(properties["Bucket"])] = hub.resolve(properties["PolicyDocument"])
        dynamodb = session.client("dynamodb")
        for resource_type in ("AWS::DynamoDB::GlobalTable", "AWS::DynamoDB::Table"):
            for logical_id, properties in hub.resources(resource_type):
                name = properties.get("TableName") or hub.physical_name(logical_id, 255)
                table = dynamodb.create_table(
                    TableName=name,
                    KeySchema=properties["KeySchema"],
                    AttributeDefinitions=properties["AttributeDefinitions"],
                    BillingMode="PAY_PER_REQUEST",
                )["TableDescription"]
                ttl = properties.get("TimeToLiveSpecification")
                if ttl and ttl.get("Enabled"):
                    dynamodb.update_time_to_live(
                        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]}
                    )
                hub.refs[logical_id], hub.attributes[(logical_id, "Arn")] = name, table["TableArn"]
        sqs = session.client("sqs")
        for logical_id, properties in hub.resources("AWS::SQS::Queue"):
            url = sqs.create_queue(QueueName=properties.get("QueueName") or hub.physical_name(logical_id, 80))[
                "QueueUrl"
            ]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            hub.refs[logical_id], hub.attributes[(logical_id, "Arn")] = url, arn
        sns = session.client("sns")
        for logical_id, properties in hub.resources("AWS::SNS::Topic"):
            arn = sns.create_topic(Name=properties.get("TopicName") or hub.physical_name(logical_id, 256))["TopicArn"]
            hub.refs[logical_id], hub.attributes[(logical_id, "TopicArn")] = arn, arn
        events = session.client("events")
        for logical_id, properties in hub.resources("AWS::Events::EventBus"):
            arn = events.create_event_bus(Name=properties["Name"])["EventBusArn"]
            hub.refs[logical_id], hub.attributes[(logical_id, "Arn")] = properties["Name"], arn
        for _, properties in hub.resources("AWS::Events::EventBusPolicy"):
            statement = hub.resolve(properties["Statement"]) | {"Sid": properties["StatementId"]}
            events.put_permission(
                EventBusName=hub.resolve(properties["EventBusName"]),
                Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
            )
        iam = session.client("iam")
        for logical_id, properties in hub.resources("AWS::IAM::Role"):
            name = properties.get("RoleName") or hub.physical_name(logical_id, 64)
            hub.refs[logical_id] = name
            hub.attributes[(logical_id, "Arn")] = iam.create_role(
                RoleName=name, AssumeRolePolicyDocument=json.dumps(hub.resolve(properties["AssumeRolePolicyDocument"]))
            )["Role"]["Arn"]

        self.lambdas = InProcessLambdas(templates.hub, hub.region, hub.account, environments={})
        for logical_id in self.lambdas.logical_ids():
            hub.refs[logical_id] = logical_id
            hub.attributes[(logical_id, "Arn")] = self.lambdas.arn(logical_id)
        sfn = session.client("stepfunctions")
        for logical_id, properties in hub.resources("AWS::StepFunctions::StateMachine"):
            arn = sfn.create_state_machine(
                name=properties.get("StateMachineName") or hub.physical_name(logical_id, 80),
                definition=hub.resolve(properties["DefinitionString"]),
                roleArn=hub.resolve(properties["RoleArn"]),
                type=properties.get("StateMachineType", "STANDARD"),
            )["stateMachineArn"]
            hub.refs[logical_id], hub.attributes[(logical_id, "Arn")] = arn, arn
        for logical_id, properties in hub.resources("AWS::Lambda::Function"):
            environment = {
                k: str(v) for k, v in hub.resolve(properties.get("Environment", {}).get("Variables", {})).items()
            }
            environment |= {"MLGOV_ENDPOINT_URL": self.endpoint_url, "MLGOV_SLACK_API_URL": self.slack.api_url}
            environment |= OVERRIDES.get(properties["Handler"], {})
            environment |= self._execution_credentials(hub.resolve(properties["Role"]))
            self.lambdas.set_environment(logical_id, environment)
        self._rules(hub, events)
        for _, properties in hub.resources("AWS::Scheduler::Schedule"):
            self._schedules[properties["Name"]] = hub.resolve(properties["Target"])
        for _, properties in hub.resources("AWS::Lambda::Url"):
            target = hub.resolve(properties["TargetFunctionArn"])
            self.function_url = FunctionUrl(self.lambdas, target.rsplit(":function:", 1)[1])
        self.lambdas.__enter__()
        return hub

    def _execution_credentials(self, role_arn: str) -> dict[str, str]:
        """What the Lambda service gives a function: a session of its execution role (so the roles a spoke trusts
        are checked against the function's own role, as in AWS)."""
        credentials = self._bootstrap("sts").assume_role(RoleArn=role_arn, RoleSessionName="lambda")["Credentials"]
        return {
            "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"],
        }

    def _prerequisites(self, session: boto3.Session) -> None:
        """What the platform team creates before deploying (README): the Slack secrets the config names."""
        secrets = session.client("secretsmanager")
        names = {}
        for function in _resources(self.templates.hub, "AWS::Lambda::Function").values():
            variables = function["Properties"].get("Environment", {}).get("Variables", {})
            if "MLGOV_SLACK_TOKEN_SECRET" in variables:
                names[variables["MLGOV_SLACK_TOKEN_SECRET"]] = FAKE_SECRETS["bot_token"]
            if "MLGOV_SLACK_SIGNING_SECRET" in variables:
                names[variables["MLGOV_SLACK_SIGNING_SECRET"]] = FAKE_SECRETS["signing_secret"]
        for name, value in names.items():
            secrets.create_secret(Name=name, SecretString=value)

    def _use_credentials(self, session: boto3.Session) -> None:
        """The hub account's credentials for every default client of the process (the functions' execution role)."""
        credentials = session.get_credentials().get_frozen_credentials()
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": credentials.access_key,
                "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
                "AWS_SESSION_TOKEN": credentials.token,
            }
        )
        boto3.DEFAULT_SESSION = None

    def _rules(self, stack: Stack, events) -> None:
        for logical_id, properties in stack.resources("AWS::Events::Rule"):
            bus = stack.resolve(properties.get("EventBusName", "default"))
            name = properties.get("Name") or stack.physical_name(logical_id, 64)
            events.put_rule(
                Name=name,
                EventBusName=bus,
                EventPattern=json.dumps(stack.resolve(properties["EventPattern"])),
                State=properties.get("State", "ENABLED"),
                Description=properties.get("Description", ""),
            )
            targets = []
            for target in stack.resolve(properties["Targets"]):
                targets.append(
                    {
                        k: v
                        for k, v in target.items()
                        if k in ("Id", "Arn", "RoleArn", "Input", "DeadLetterConfig", "RetryPolicy")
                    }
                )
            events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
            stack.refs[logical_id] = name

    # ---- the spokes (the StackSet) --------------------------------------------------------------------------

    def deploy_spokes(self) -> None:
        """One spoke stack instance per governed account × StackSet region, as the service-managed StackSet does."""
        for account in self.governed_accounts():
            for region in self.templates.member_regions:
                spoke = Stack(SPOKE_STACK, self.templates.spoke, account, region)
                session = self.session(account, region)
                iam = session.client("iam")
                for logical_id, properties in spoke.resources("AWS::IAM::Role"):
                    name = properties.get("RoleName") or f"mlgov-spoke-{logical_id}-{region}".lower()[:64]
                    spoke.refs[logical_id] = name
                    spoke.attributes[(logical_id, "Arn")] = f"arn:aws:iam::{account}:role/{name}"
                    iam.create_role(
                        RoleName=name,
                        AssumeRolePolicyDocument=json.dumps(spoke.resolve(properties["AssumeRolePolicyDocument"])),
                        Description=properties.get("Description", ""),
                    )
                    for policy in spoke.resolve(properties.get("Policies", [])):
                        iam.put_role_policy(
                            RoleName=name,
                            PolicyName=policy["PolicyName"],
                            PolicyDocument=json.dumps(policy["PolicyDocument"]),
                        )
                self._rules(spoke, session.client("events"))
                self.spokes[(account, region)] = spoke

    # ---- moto made to behave like AWS -------------------------------------------------------------------------

    def _patch_moto(self) -> None:
        from moto.events import models as events_models
        from moto.iam.models import iam_backends
        from moto.sts import models as sts_models
        from moto.sts.exceptions import STSClientError

        original_send = events_models.Rule.send_to_targets
        harness = self

        def send_to_targets(rule, original_event, transform_input=True):
            if not rule.event_pattern.matches_event(original_event):
                return
            others = []
            for target in rule.targets:
                arn = target["Arn"]
                if ":event-bus/" in arn:
                    harness._forward(arn, original_event)
                elif arn.startswith("arn:aws:lambda:"):
                    with harness._pending_lock:
                        harness._pending.append((arn.rsplit(":function:", 1)[1], copy.deepcopy(original_event)))
                else:
                    others.append(target)
            if others:
                shallow = copy.copy(rule)
                shallow.targets = others
                original_send(shallow, original_event, transform_input)

        from moto.awslambda import models as lambda_models

        original_invoke = lambda_models.LambdaBackend.invoke

        def invoke(backend, function_name, qualifier, body, headers, response_headers):
            served = None
            if harness.lambdas is not None and backend.account_id == harness.templates.hub_account:
                event = json.loads(body) if body else {}
                served = harness.lambdas.serve(function_name, event)
            if served is None:
                return original_invoke(backend, function_name, qualifier, body, headers, response_headers)
            payload, function_error = served
            if function_error:
                response_headers["x-amz-function-error"] = function_error
            return b"" if headers.get("X-Amz-Invocation-Type") == "Event" else payload

        original_assume = sts_models.STSBackend.assume_role

        def assume_role(backend, region_name, role_session_name, role_arn, *args, **kwargs):
            account, name = role_arn.split(":")[4], role_arn.rsplit("/", 1)[-1]
            if account != BOOTSTRAP_ACCOUNT and not _role_exists(iam_backends[account]["aws"], name):
                raise STSClientError(
                    "AccessDenied", f"User is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
                )
            return original_assume(backend, region_name, role_session_name, role_arn, *args, **kwargs)

        # moto's STS model has no AccessDenied shape; the client still gets the AWS error code (quiet its warning).
        warnings.filterwarnings("ignore", message=r"Exception\(STSClientError\) with code AccessDenied")
        from moto.sts import responses as sts_responses

        original_response = sts_responses.TokenResponse.assume_role

        def assume_role_response(response):
            caller = _caller_role_arn(response.get_access_key())
            role_arn = response._get_param("RoleArn")
            if caller is not None:  # the harness's own bootstrap key stands for the Lambda service and admins
                account, name = role_arn.split(":")[4], role_arn.rsplit("/", 1)[-1]
                role = next((r for r in iam_backends[account]["aws"].roles.values() if r.name == name), None)
                if role is not None and not trusts(json.loads(role.assume_role_policy_document), caller):
                    raise STSClientError(
                        "AccessDenied", f"User: {caller} is not authorized to perform: sts:AssumeRole on {role_arn}"
                    )
            return original_response(response)

        from moto.core.responses import ActionResult
        from moto.s3 import responses as s3_responses
        from moto.sagemaker import responses as sagemaker_responses

        original_key_response = s3_responses.S3Response._key_response
        harness = self

        def key_response(response, request, full_url):
            refusal = harness._bucket_policy_refusal(response, request, full_url)
            if refusal is not None:
                return 403, {}, refusal
            return original_key_response(response, request, full_url)

        def list_inference_components(response):
            return ActionResult({"InferenceComponents": []})

        for patch in (
            mock.patch.object(s3_responses.S3Response, "_key_response", key_response),
            mock.patch.object(
                sagemaker_responses.SageMakerResponse,
                "list_inference_components",
                list_inference_components,
                create=True,
            ),
            mock.patch.object(sts_responses.TokenResponse, "assume_role", assume_role_response),
            mock.patch.object(events_models.Rule, "send_to_targets", send_to_targets),
            mock.patch.object(sts_models.STSBackend, "assume_role", assume_role),
            mock.patch.object(lambda_models.LambdaBackend, "invoke", invoke),
        ):
            patch.start()
            self._patches.append(patch)

    def _bucket_policy_refusal(self, response, request, full_url: str) -> str | None:
        """AccessDenied XML when a role of another account asks for an object of a hub bucket its policy does not
        admit (cross-account access needs the bucket policy's Allow); None otherwise."""
        from urllib.parse import urlparse

        from mlgov.domain.iam_eval import RequestContext, resource_policy_allows

        bucket = response.parse_bucket_name_from_url(request, full_url)
        policy = self.bucket_policies.get(bucket)
        caller = _caller_role_arn(response.get_access_key())
        if policy is None or caller is None:
            return None
        account = caller.split(":")[4]
        if account == self.templates.hub_account:
            return None
        query = urlparse(full_url).query
        method = request.method
        action = {"GET": "s3:GetObject", "HEAD": "s3:GetObject", "DELETE": "s3:DeleteObject"}.get(
            method, "s3:PutObject"
        )
        if method == "DELETE" and "uploadId" in query:
            action = "s3:AbortMultipartUpload"
        member = self.accounts.get(account)
        path = self.org_path_prefix + (f"{self.ou_ids[member.ou]}/" if member and member.ou else "")
        key = response.parse_key_name()
        context = {"aws:PrincipalAccount": account, "aws:PrincipalOrgPaths": [path] if self.org_path_prefix else []}
        request_context = RequestContext(action, caller, f"arn:aws:s3:::{bucket}/{key}", context)
        if resource_policy_allows(policy, request_context):
            return None
        self.refused_s3.append({"bucket": bucket, "key": key, "caller": caller, "action": action})
        return (
            '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
            f"<Message>{caller} is not admitted by the bucket policy of {bucket} for {action}</Message></Error>"
        )

    def _forward(self, bus_arn: str, event: dict) -> None:
        """An event-bus target: the target bus's rules see the event as it was (account, region, resources kept)."""
        from moto.events.models import events_backends

        account, region, name = bus_arn.split(":")[4], bus_arn.split(":")[3], bus_arn.rsplit("/", 1)[1]
        bus = events_backends[account][region].describe_event_bus(name)
        sender = str(event.get("account"))
        if sender != account and not bus_admits(json.loads(bus.policy or "{}"), sender, _organization_of(sender)):
            self.refused_events.append({"bus": bus_arn, "account": sender, "id": event.get("id")})
            return  # EventBridge refuses the PutEvents of a principal the bus policy does not admit
        for rule in list(bus.rules.values()):
            if rule.state == "ENABLED":
                rule.send_to_targets(copy.deepcopy(event))

    # ---- driving it -------------------------------------------------------------------------------------------

    def emit(self, event: Mapping, account: str | None = None, region: str | None = None) -> None:
        """An AWS service event (EventBridge envelope: source, detail-type, detail, resources, time) landing on the
        default bus of its account and region, where CloudTrail and SageMaker put them; the spoke's rules take it
        from there. Deliveries to Lambda targets wait for `deliver()`."""
        account, region = account or event["account"], region or event["region"]
        entry = {
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": json.dumps(event["detail"]),
            "Resources": list(event.get("resources") or []),
        }
        if event.get("time"):
            entry["Time"] = datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00"))
        result = self.session(account, region).client("events").put_events(Entries=[entry])
        if result["FailedEntryCount"]:
            raise RuntimeError(f"PutEvents refused the event: {result['Entries']}")

    def deliver(self) -> list[Invocation]:
        """Runs every queued asynchronous Lambda invocation (rule targets), oldest first, until none is left."""
        done = []
        while True:
            with self._pending_lock:
                if not self._pending:
                    return done
                logical_id, event = self._pending.pop(0)
            done.append(self.lambdas.invoke(logical_id, event))

    def fire_schedule(self, name: str, timeout: float = 90, execution_name: str | None = None) -> dict:
        """What EventBridge Scheduler does at the schedule's time: its target with its Input. A state machine target
        runs to its end (describe_execution returned); a function target returns its Invocation as a dict."""
        target = self._schedules[name]
        if ":states:" in target["Arn"]:
            sfn = boto3.client("stepfunctions")
            # Scheduler names each execution (moto leaves $$.Execution.Name empty when StartExecution has no name).
            execution = sfn.start_execution(
                stateMachineArn=target["Arn"], name=execution_name or str(uuid.uuid4()), input=target.get("Input", "{}")
            )
            return self.wait_for_execution(execution["executionArn"], timeout)
        function = self.lambdas.logical_id_of(target["Arn"].rsplit(":function:", 1)[1])
        call = self.lambdas.invoke(function, json.loads(target.get("Input", "{}")))
        return {"result": call.result, "error": call.error}

    def wait_for_execution(self, execution_arn: str, timeout: float = 90) -> dict:
        sfn = boto3.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while (described := sfn.describe_execution(executionArn=execution_arn))["status"] == "RUNNING":
            if time.monotonic() > deadline:
                raise TimeoutError(f"{execution_arn} still running after {timeout} s")
            time.sleep(0.05)
        return described

    def wait_until(self, predicate: Callable[[], object], timeout: float = 30, what: str = "condition") -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if value := predicate():
                return value
            time.sleep(0.05)
        raise TimeoutError(f"timed out after {timeout} s waiting for {what}")

    # ---- Slack ------------------------------------------------------------------------------------------------

    def approval_message(self, endpoint: str) -> dict | None:
        """The latest chat.postMessage asking to approve the deletion of `endpoint` (it carries the buttons)."""
        for message in reversed(self.slack.messages()):
            blocks = message["body"].get("blocks", [])
            blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
            buttons = [e for b in blocks for e in b.get("elements", []) if e.get("type") == "button"]
            if buttons and endpoint in json.dumps(blocks):
                return message | {"blocks": blocks, "buttons": {b["action_id"]: b["value"] for b in buttons}}
        return None

    def click(self, endpoint: str, action: str, user: str, *, secret: str | None = None) -> tuple[int, dict]:
        """What Slack sends when `user` clicks `action` on the approval message of `endpoint`: a block_actions
        payload, signed with the app's signing secret (or `secret`), POSTed to the template's Function URL."""
        message = self.wait_until(lambda: self.approval_message(endpoint), 30, f"the approval request for {endpoint}")
        return self._send_click(message, action, message["buttons"][action], user, secret=secret)

    def click_button(self, label: str, user: str) -> tuple[int, dict]:
        """`user` clicks the button whose text is `label` on the latest notice that carries it (Keep running,
        Extend), signed and POSTed to the Function URL as Slack does."""
        for message in reversed(self.slack.messages()):
            blocks = message["body"].get("blocks", [])
            blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
            for element in (e for b in blocks for e in b.get("elements", []) if e.get("type") == "button"):
                if element["text"]["text"] == label:
                    return self._send_click(message, element["action_id"], element["value"], user)
        raise AssertionError(f"no posted message has a button {label!r}")

    def _send_click(
        self, message: dict, action: str, value: str, user: str, *, secret: str | None = None
    ) -> tuple[int, dict]:
        channel = message["body"].get("channel")
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": "someone", "team_id": "T0MLGOV"},
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel},
            "channel": {"id": channel, "name": "ml-governance"},
            "message": {"type": "message", "ts": message["ts"]},
            "response_url": f"{self.slack.url}/response/{message['ts']}",
            "actions": [{"action_id": action, "block_id": "mlgov_approval", "value": value, "type": "button"}],
        }
        body = urlencode({"payload": json.dumps(payload)})
        timestamp = str(int(time.time()))
        signature = hmac.new(
            (secret or FAKE_SECRETS["signing_secret"]).encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256
        ).hexdigest()
        request = urllib.request.Request(
            self.function_url.url,
            data=body.encode(),
            method="POST",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": timestamp,
                "X-Slack-Signature": f"v0={signature}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")

    def function_for(self, handler: str) -> str:
        return self.lambdas.by_handler(handler)

    def state_machine_arn(self, name: str) -> str:
        return f"arn:aws:states:{self.templates.hub_region}:{self.templates.hub_account}:stateMachine:{name}"

    def hub_resource(self, logical_prefix: str) -> str:
        """The physical id of the hub resource whose logical id starts with `logical_prefix` (exactly one)."""
        [found] = [v for k, v in self.hub.refs.items() if k.startswith(logical_prefix) and not k.startswith("AWS::")]
        return found


def bus_admits(policy: Mapping, sender_account: str, sender_organization: str | None) -> bool:
    """An event bus resource policy admits events:PutEvents from `sender_account` (principal `*`, the account or its
    root; StringEquals conditions on aws:PrincipalOrgID / aws:PrincipalAccount). Other conditions fail closed."""
    context = {"aws:PrincipalOrgID": sender_organization, "aws:PrincipalAccount": sender_account}
    statements = policy.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        if statement.get("Effect") != "Allow" or not any(fnmatch.fnmatchcase("events:PutEvents", a) for a in actions):
            continue
        principal = statement.get("Principal", {})
        aws = principal.get("AWS", []) if isinstance(principal, dict) else [principal]
        aws = aws if isinstance(aws, list) else [aws]
        if not any(p in ("*", sender_account, f"arn:aws:iam::{sender_account}:root") for p in aws):
            continue
        if all(
            operator == "StringEquals" and context.get(key) in (values if isinstance(values, list) else [values])
            for operator, pairs in statement.get("Condition", {}).items()
            for key, values in pairs.items()
        ):
            return True
    return False


def _organization_of(account: str) -> str | None:
    from moto.organizations.models import organizations_backends

    management = organizations_backends.master_accounts.get(account, (account, "aws"))[0]
    org = organizations_backends[management]["aws"].org
    return org.id if org is not None else None


def _caller_role_arn(access_key: str) -> str | None:
    """The role ARN behind an assumed-role access key (aws:PrincipalArn of the session); None for other keys."""
    from moto.sts.models import sts_backends

    for account in list(sts_backends.values()):
        for backend in list(account.values()):
            for assumed in list(backend.assumed_roles):
                if assumed.access_key_id == access_key:
                    return assumed.role_arn
    return None


def trusts(document: Mapping, caller_role_arn: str) -> bool:
    """IAM's trust evaluation for an assumed-role caller, as far as mlgov's trust policies go: an Allow of
    sts:AssumeRole whose AWS principal is the caller's account (root), the role or `*`, and whose ArnEquals /
    ArnLike / StringEquals / StringLike conditions on aws:PrincipalArn or aws:PrincipalAccount hold. Any other
    condition operator or key makes the statement not apply (fail closed)."""
    account = caller_role_arn.split(":")[4]
    context = {"aws:PrincipalArn": caller_role_arn, "aws:PrincipalAccount": account}
    statements = document.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        if statement.get("Effect") != "Allow" or not any(fnmatch.fnmatchcase("sts:AssumeRole", a) for a in actions):
            continue
        principal = statement.get("Principal", {})
        aws = principal.get("AWS", []) if isinstance(principal, dict) else [principal]
        aws = aws if isinstance(aws, list) else [aws]
        if not any(p in ("*", account, f"arn:aws:iam::{account}:root", caller_role_arn) for p in aws):
            continue
        if all(
            operator in ("ArnEquals", "ArnLike", "StringEquals", "StringLike")
            and key in context
            and any(fnmatch.fnmatchcase(context[key], v) for v in (values if isinstance(values, list) else [values]))
            for operator, pairs in statement.get("Condition", {}).items()
            for key, values in pairs.items()
        ):
            return True
    return False


def _role_exists(iam_backend, name: str) -> bool:
    return any(role.name == name for role in iam_backend.roles.values())


@contextmanager
def deployed(
    templates: Templates, members: Mapping[str, str], outside: Mapping[str, str] | None = None
) -> Iterator[Harness]:
    """The whole installation on a fresh moto server: organization, hub, spokes."""
    with Harness(templates) as harness:
        harness.deploy_organization(members, outside)
        harness.deploy_hub()
        harness.deploy_spokes()
        yield harness
