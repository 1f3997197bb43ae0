"""AWS Price List (`pricing`) adapter: AmazonSageMaker product documents, of whole regions (`mlgov pricing refresh`)
or of one instance type in one region (live prices for a scan)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from mlgov.aws.sessions import RETRY_CONFIG

# A Price List out of reach (no route from a VPC Lambda, no network) fails in seconds, not after adaptive backoff:
# the scan then prices from the fallback table.
PRICING_CONFIG = RETRY_CONFIG.merge(
    Config(connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": 3})
)

SERVICE_CODE = "AmazonSageMaker"
PRODUCT_FAMILY = "ML Instance"
# The Price List Query API is served from these regions only (botocore endpoints.json, partition aws); the data is
# global, so one endpoint answers for every region's prices.
PRICING_API_REGIONS = ("us-east-1", "eu-central-1", "ap-south-1")
PRICING_REGION = "us-east-1"
PAGE_SIZE = 100  # GetProducts MaxResults upper bound


class PriceListError(ValueError):
    """The Price List API could not be read; one line saying why and what the caller needs."""


def pricing_client(session, endpoint_url: str | None = None):
    """A `pricing` client in us-east-1, the Price List endpoint for the aws partition."""
    return session.client("pricing", region_name=PRICING_REGION, config=PRICING_CONFIG, endpoint_url=endpoint_url)


def fetch_sagemaker_products(pricing_client, regions: Sequence[str]) -> list[dict]:
    """Every AmazonSageMaker ML Instance product of `regions`, each PriceList JSON string decoded, in API order."""
    products: list[dict] = []
    for region in regions:
        products += _products(pricing_client, region, {"regionCode": region, "productFamily": PRODUCT_FAMILY})
    return products


def fetch_instance_products(pricing_client, region: str, instance_type: str) -> list[dict]:
    """Every AmazonSageMaker product of one instance type in one region: hosting, training, processing, transform,
    notebook, Studio, HyperPod... (one or two pages; the component is in each product's usagetype)."""
    return _products(
        pricing_client, f"{instance_type} in {region}", {"regionCode": region, "instanceName": instance_type}
    )


def _products(pricing_client, label: str, matches: dict[str, str]) -> list[dict]:
    request = {
        "ServiceCode": SERVICE_CODE,
        "Filters": [{"Type": "TERM_MATCH", "Field": field, "Value": value} for field, value in matches.items()],
        "FormatVersion": "aws_v1",
        "MaxResults": PAGE_SIZE,
    }
    products: list[dict] = []
    while True:
        page = _get_products(pricing_client, request, label)
        products += [_decode(item, label) for item in page.get("PriceList", [])]
        token = page.get("NextToken")
        if not token:
            return products
        request["NextToken"] = token


def _get_products(pricing_client, request: dict, region: str) -> dict:
    try:
        return pricing_client.get_products(**request)
    except ClientError as err:
        error = err.response.get("Error", {})
        code, message = error.get("Code", "Error"), " ".join(str(error.get("Message", "")).split())
        hint = " (the caller needs pricing:GetProducts)" if "AccessDenied" in code else ""
        raise PriceListError(f"Price List GetProducts for {region} failed: {code}: {message}{hint}") from None
    except BotoCoreError as err:  # no credentials, no network, bad endpoint
        raise PriceListError(f"Price List GetProducts for {region} failed: {err}") from None


def _decode(item: object, region: str) -> dict:
    if isinstance(item, dict):
        return item
    try:
        decoded = json.loads(item)
    except (TypeError, ValueError):
        decoded = None
    if not isinstance(decoded, dict):
        raise PriceListError(f"Price List returned a product for {region} that is not a JSON object: {str(item)[:80]}")
    return decoded
