"""Reads what `mlgov doctor` checks from a live account: trails, the hub bus and rule, the spoke role."""

from __future__ import annotations

import boto3
from botocore.exceptions import ClientError

from mlgov.aws.sessions import RETRY_CONFIG
from mlgov.domain.preflight import Check, TrailFacts


class Installation:
    def __init__(self, session: boto3.Session, region: str, endpoint_url: str | None = None) -> None:
        self._session = session
        self._region = region
        self._endpoint_url = endpoint_url

    def _client(self, service: str):
        return self._session.client(
            service, region_name=self._region, config=RETRY_CONFIG, endpoint_url=self._endpoint_url
        )

    def trails(self) -> list[TrailFacts]:
        cloudtrail = self._client("cloudtrail")
        facts = []
        for trail in cloudtrail.describe_trails(includeShadowTrails=True)["trailList"]:
            arn = trail.get("TrailARN") or trail["Name"]
            selectors = cloudtrail.get_event_selectors(TrailName=arn)
            facts.append(
                TrailFacts(
                    name=trail["Name"],
                    home_region=trail.get("HomeRegion", self._region),
                    multi_region=bool(trail.get("IsMultiRegionTrail")),
                    organization_trail=bool(trail.get("IsOrganizationTrail")),
                    logging=bool(cloudtrail.get_trail_status(Name=arn).get("IsLogging")),
                    event_selectors=selectors.get("EventSelectors") or (),
                    advanced_event_selectors=selectors.get("AdvancedEventSelectors") or (),
                )
            )
        return facts

    def hub_bus(self, name: str) -> Check:
        events = self._client("events")
        try:
            events.describe_event_bus(Name=name)
        except ClientError as err:
            return Check(
                "hub-bus",
                False,
                f"event bus {name}: {err.response['Error']['Code']}",
                "deploy the hub: cdk deploy MlgovHub (from the hub account)",
            )
        rules = events.list_rules(EventBusName=name).get("Rules", [])
        enabled = [rule["Name"] for rule in rules if rule.get("State") == "ENABLED"]
        if not enabled:
            return Check(
                "hub-bus",
                False,
                f"event bus {name} has no enabled rule",
                "redeploy MlgovHub; the create-calls rule routes events to the auto-tagger",
            )
        return Check("hub-bus", True, f"event bus {name} with {len(enabled)} enabled rule(s)")

    def spoke_role(self, name: str) -> Check:
        try:
            self._client("iam").get_role(RoleName=name)
        except ClientError as err:
            return Check(
                "spoke-role",
                False,
                f"role {name}: {err.response['Error']['Code']}",
                "deploy the spoke stack in this account (StackSet or cdk deploy MlgovSpoke-<region>)",
            )
        return Check("spoke-role", True, f"role {name} exists")
