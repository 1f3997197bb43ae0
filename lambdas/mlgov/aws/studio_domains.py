"""SageMaker Studio domains read fresh and updated, per account and region, through a client factory (the scanner's
AccountSessions: its own credentials in the hub account, the spoke role elsewhere)."""

from __future__ import annotations

from collections.abc import Callable, Mapping


class StudioDomains:
    def __init__(self, sagemaker_for: Callable[[str, str], object]) -> None:
        self._sagemaker_for = sagemaker_for  # (account, region) -> a boto3 SageMaker client

    def describe_domain(self, account: str, region: str, domain_id: str) -> dict:
        """DescribeDomain as it is now (status and DefaultUserSettings are what the caller reads)."""
        response = self._sagemaker_for(account, region).describe_domain(DomainId=domain_id)
        return {key: value for key, value in response.items() if key != "ResponseMetadata"}

    def update_domain(self, account: str, region: str, request: Mapping) -> None:
        """UpdateDomain with exactly `request` (DomainId and the members to set)."""
        self._sagemaker_for(account, region).update_domain(**request)
