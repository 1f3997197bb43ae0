"""The harness fails on the wiring mistakes it claims to catch: a spoke whose trust admits the wrong hub role."""

from __future__ import annotations

import copy
import dataclasses
import json

from tests.e2e.harness import deployed, trusts

MEMBER = "333333333333"


def _distrusting(templates):
    """The same templates, except that mlgov-spoke trusts a hub role that does not exist."""
    spoke = copy.deepcopy(templates.spoke)
    for resource in spoke["Resources"].values():
        if resource["Type"] == "AWS::IAM::Role" and resource["Properties"].get("RoleName") == "mlgov-spoke":
            text = json.dumps(resource["Properties"]["AssumeRolePolicyDocument"]).replace(
                "role/mlgov-hub-scanner", "role/mlgov-hub-someone-else"
            )
            resource["Properties"]["AssumeRolePolicyDocument"] = json.loads(text)
    return dataclasses.replace(templates, spoke=spoke)


def test_a_spoke_that_does_not_trust_the_scanner_role_makes_the_scan_report_access_denied(templates):
    with deployed(_distrusting(templates), {MEMBER: "ml-research"}) as harness:
        execution = harness.fire_schedule("mlgov-scan", execution_name="distrust")
        report_key = json.loads(execution["output"])["report_key"]
        s3 = harness.session(harness.templates.hub_account).client("s3")
        report = json.loads(s3.get_object(Bucket=harness.hub_resource("ArchiveBucket"), Key=report_key)["Body"].read())

    assert execution["status"] == "SUCCEEDED"
    refused = sorted((e["account"], e["operation"]) for e in report["errors"])
    assert refused == [(MEMBER, "AssumeRole")] * len(templates.member_regions)
    assert all("not authorized to perform: sts:AssumeRole" in e["message"] for e in report["errors"])


def test_trust_evaluation_follows_principal_and_principal_arn_conditions():
    document = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
                "Condition": {"ArnEquals": {"aws:PrincipalArn": ["arn:*:iam::222222222222:role/mlgov-hub-scanner"]}},
            }
        ]
    }
    assert trusts(document, "arn:aws:iam::222222222222:role/mlgov-hub-scanner")
    assert not trusts(document, "arn:aws:iam::222222222222:role/mlgov-hub-approval")
    assert not trusts(document, "arn:aws:iam::999999999999:role/mlgov-hub-scanner")
    unknown = copy.deepcopy(document)
    unknown["Statement"][0]["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    assert not trusts(unknown, "arn:aws:iam::222222222222:role/mlgov-hub-scanner")  # fails closed


def test_a_hub_bus_policy_that_admits_another_organization_drops_the_members_events(templates):
    from tests.samples.cloudtrail import create_event

    with deployed(templates, {MEMBER: "ml-research"}) as harness:
        events = harness.session(harness.templates.hub_account).client("events")
        policy = json.loads(events.describe_event_bus(Name="mlgov-hub")["Policy"])
        policy["Statement"][0]["Condition"]["StringEquals"]["aws:PrincipalOrgID"] = "o-anotherorg1"
        events.put_permission(EventBusName="mlgov-hub", Policy=json.dumps(policy))
        record = create_event("CreateEndpoint", {"endpointName": "e"}, {"endpointArn": "arn"}, account=MEMBER)

        harness.emit(record)

        assert harness.deliver() == []
        assert [(r["account"], r["bus"].rsplit("/", 1)[1]) for r in harness.refused_events] == [(MEMBER, "mlgov-hub")]
