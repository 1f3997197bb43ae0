"""Preflight checks: which CloudTrail setups deliver SageMaker create calls to EventBridge."""

from mlgov.domain.preflight import TrailFacts, check_cloudtrail, records_sagemaker_writes


def trail(**overrides) -> TrailFacts:
    values = {
        "name": "org-trail",
        "home_region": "us-east-1",
        "multi_region": True,
        "organization_trail": True,
        "logging": True,
    }
    return TrailFacts(**{**values, **overrides})


def test_logging_multi_region_trail_without_selectors_passes():
    check = check_cloudtrail([trail()], "eu-west-1")
    assert check.ok and "org-trail (organization trail)" in check.detail


def test_no_trail_fails_with_a_fix():
    check = check_cloudtrail([], "eu-west-1")
    assert not check.ok and "no trail covers eu-west-1" in check.detail and "create-trail" in check.fix


def test_single_region_trail_elsewhere_does_not_cover_the_region():
    check = check_cloudtrail([trail(multi_region=False, home_region="us-east-1")], "eu-west-1")
    assert not check.ok and "no trail covers" in check.detail


def test_stopped_trail_fails():
    check = check_cloudtrail([trail(logging=False)], "eu-west-1")
    assert not check.ok and "not logging" in check.detail


def test_read_only_management_selector_does_not_record_creates():
    selectors = [{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True}]
    assert not records_sagemaker_writes(trail(event_selectors=selectors))
    assert not check_cloudtrail([trail(event_selectors=selectors)], "eu-west-1").ok


def test_data_events_only_selector_does_not_record_creates():
    assert not records_sagemaker_writes(
        trail(event_selectors=[{"ReadWriteType": "All", "IncludeManagementEvents": False}])
    )


def test_selector_excluding_sagemaker_does_not_record_creates():
    selector = {
        "ReadWriteType": "All",
        "IncludeManagementEvents": True,
        "ExcludeManagementEventSources": ["sagemaker.amazonaws.com"],
    }
    assert not records_sagemaker_writes(trail(event_selectors=[selector]))


def test_advanced_selector_for_write_management_events_records_creates():
    selector = {
        "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Management"]},
            {"Field": "readOnly", "Equals": ["false"]},
        ]
    }
    assert records_sagemaker_writes(trail(advanced_event_selectors=[selector]))


def test_advanced_selector_limited_to_another_service_does_not_record_sagemaker():
    selector = {
        "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Management"]},
            {"Field": "eventSource", "Equals": ["ec2.amazonaws.com"]},
        ]
    }
    assert not records_sagemaker_writes(trail(advanced_event_selectors=[selector]))


def test_advanced_selector_for_data_events_only_does_not_record_creates():
    selector = {
        "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
        ]
    }
    assert not records_sagemaker_writes(trail(advanced_event_selectors=[selector]))


# ---- report format ------------------------------------------------------------------------------------------------


def test_report_prints_status_name_detail_and_a_fix_only_under_failures():
    from mlgov.domain.preflight import Check, exit_status, render_checks, skip

    checks = [
        Check("cloudtrail", True, "management events recorded in eu-west-1 by org-trail"),
        Check("hub-bus", False, "event bus mlgov-hub: ResourceNotFoundException", "cdk deploy MlgovHub"),
        skip("org-policies", "single-account mode: SCPs are not attached"),
    ]

    assert render_checks(checks) == [
        "OK   cloudtrail    management events recorded in eu-west-1 by org-trail",
        "FAIL hub-bus       event bus mlgov-hub: ResourceNotFoundException",
        "     fix: cdk deploy MlgovHub",
        "SKIP org-policies  single-account mode: SCPs are not attached",
    ]
    assert exit_status(checks) == 1
    assert exit_status([checks[0], checks[2]]) == 0  # a skipped check is not a failure
