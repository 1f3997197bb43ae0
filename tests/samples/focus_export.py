"""A FOCUS 1.2 cost export as AWS Data Exports writes it (Parquet, the FOCUS column names, Tags as a map), built in
the tests with DuckDB: a small hand-checked month for `mlgov costs`, and N generated rows for the benchmark."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

SAGEMAKER = "Amazon SageMaker"
# Column -> DuckDB type, in the FOCUS order (AWS's extension columns start with x_).
COLUMNS = {
    "BilledCost": "DOUBLE",
    "EffectiveCost": "DOUBLE",
    "ListCost": "DOUBLE",
    "ContractedCost": "DOUBLE",
    "BillingCurrency": "VARCHAR",
    "ChargeCategory": "VARCHAR",
    "ChargeClass": "VARCHAR",
    "ChargePeriodStart": "TIMESTAMP",
    "ChargePeriodEnd": "TIMESTAMP",
    "PricingCategory": "VARCHAR",
    "CommitmentDiscountType": "VARCHAR",
    "ConsumedQuantity": "DOUBLE",
    "ConsumedUnit": "VARCHAR",
    "ResourceId": "VARCHAR",
    "RegionId": "VARCHAR",
    "ServiceName": "VARCHAR",
    "SubAccountId": "VARCHAR",
    "Tags": "MAP(VARCHAR, VARCHAR)",
    "x_UsageType": "VARCHAR",
}


@dataclass(frozen=True)
class Charge:
    billed: float
    effective: float
    list_cost: float
    start: datetime
    account: str = "111111111111"
    category: str = "Usage"
    resource: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    service: str = SAGEMAKER
    region: str | None = "us-east-1"
    usage_type: str | None = "USE1-Host:ml.m5.xlarge"
    pricing: str | None = "Standard"
    charge_class: str | None = None
    hours: float | None = 1.0


def write_focus_parquet(path: Path, charges: list[Charge], tags_as_json: bool = False, zoned: bool = False) -> Path:
    """`zoned`: timestamps as AWS writes them (UTC-adjusted Parquet timestamps, read as TIMESTAMP WITH TIME ZONE)."""
    import json

    import duckdb

    columns = dict(COLUMNS) | ({"Tags": "VARCHAR"} if tags_as_json else {})
    if zoned:
        columns |= {"ChargePeriodStart": "TIMESTAMPTZ", "ChargePeriodEnd": "TIMESTAMPTZ"}
    connection = duckdb.connect()
    connection.execute(f"CREATE TABLE export ({', '.join(f'{name} {kind}' for name, kind in columns.items())})")
    for charge in charges:
        tags = json.dumps(charge.tags) if tags_as_json else charge.tags
        connection.execute(
            f"INSERT INTO export VALUES ({', '.join('?' for _ in columns)})",
            [
                charge.billed,
                charge.effective,
                charge.list_cost,
                charge.effective,
                "USD",
                charge.category,
                charge.charge_class,
                charge.start if zoned else charge.start.replace(tzinfo=None),
                charge.start if zoned else charge.start.replace(tzinfo=None),
                charge.pricing,
                "Savings Plan" if charge.pricing == "Committed" else None,
                charge.hours,
                "Hours" if charge.hours is not None else None,
                charge.resource,
                charge.region,
                charge.service,
                charge.account,
                tags,
                charge.usage_type,
            ],
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    connection.execute(f"COPY export TO '{path}' (FORMAT parquet)")
    return path


def write_generated_focus_parquet(path: Path, rows: int, month_start: datetime) -> Path:
    """`rows` generated charges over one month (SageMaker and other services, 5 teams, 2,000 resources): the
    benchmark's export, written by DuckDB without building it in Python."""
    import duckdb

    start = month_start.replace(tzinfo=None).isoformat(sep=" ")
    connection = duckdb.connect(config={"threads": 2, "memory_limit": "2GB"})
    connection.execute(
        f"""
        COPY (
          SELECT
            round(random() * 3, 6)::DOUBLE AS BilledCost,
            round(random() * 2.5, 6)::DOUBLE AS EffectiveCost,
            round(random() * 3, 6)::DOUBLE AS ListCost,
            round(random() * 2.5, 6)::DOUBLE AS ContractedCost,
            'USD' AS BillingCurrency,
            CASE WHEN i % 97 = 0 THEN 'Credit' WHEN i % 89 = 0 THEN 'Purchase' ELSE 'Usage' END AS ChargeCategory,
            NULL::VARCHAR AS ChargeClass,
            TIMESTAMP '{start}' + INTERVAL (i % 720) HOUR AS ChargePeriodStart,
            TIMESTAMP '{start}' + INTERVAL (i % 720 + 1) HOUR AS ChargePeriodEnd,
            CASE WHEN i % 3 = 0 THEN 'Committed' ELSE 'Standard' END AS PricingCategory,
            NULL::VARCHAR AS CommitmentDiscountType,
            1.0::DOUBLE AS ConsumedQuantity,
            'Hours' AS ConsumedUnit,
            'arn:aws:sagemaker:us-east-1:' || lpad((i % 20)::VARCHAR, 12, '0') || ':endpoint/e' || (i % 2000)::VARCHAR
              AS ResourceId,
            'us-east-1' AS RegionId,
            CASE WHEN i % 4 = 0 THEN 'Amazon Elastic Compute Cloud' ELSE '{SAGEMAKER}' END AS ServiceName,
            lpad((i % 20)::VARCHAR, 12, '0') AS SubAccountId,
            CASE WHEN i % 7 = 0 THEN MAP {{}}::MAP(VARCHAR, VARCHAR)
                 ELSE MAP {{'ml:team': 'team' || (i % 5)::VARCHAR, 'ml:model': 'model' || (i % 40)::VARCHAR}} END
              AS Tags,
            'USE1-Host:ml.m5.xlarge' AS x_UsageType
          FROM range({rows}) AS r(i)
        ) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 122880)
        """
    )
    return path
