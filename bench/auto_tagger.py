"""Auto-tagger benchmarks, each a ratio to a baseline measured in the same run.

1. Cold import: a fresh interpreter importing the handler and everything its first event needs
   (`python -X importtime`), as a ratio to `import boto3` alone. Goal <= 1.5x.
2. Throughput on moto: events/second through the real handler (parse, idempotency record in DynamoDB,
   ListTags, AddTags) as a ratio to the same AWS calls made directly (ListTags + AddTags + the idempotency
   PutItem and UpdateItem): what is left is mlgov's and Powertools' own overhead. moto dominates both.

Run: .venv/bin/python bench/auto_tagger.py [--events 200] [--runs 5] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "lambdas")]

HANDLER_IMPORTS = (
    "import mlgov.handlers.auto_tagger, mlgov.handlers.auto_tagger_runtime; "
    "import aws_lambda_powertools.utilities.idempotency"
)


def import_microseconds(statement: str) -> int:
    """Cumulative import time of every top-level import in a fresh interpreter (-X importtime)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": f"{REPO / 'lambdas'}"},
    )
    total = 0
    for line in result.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if match and len(match[2]) == 1:  # top-level modules only (one space of indent)
            total += int(match[1])
    return total


def cold_import(runs: int) -> tuple[float, float]:
    boto3_only = statistics.median(import_microseconds("import boto3") for _ in range(runs))
    handler = statistics.median(import_microseconds(f"import boto3; {HANDLER_IMPORTS}") for _ in range(runs))
    return boto3_only / 1000, handler / 1000


def throughput(events: int) -> tuple[float, float]:
    import boto3
    from moto import mock_aws

    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="eu-west-1",
        POWERTOOLS_LOG_LEVEL="WARNING",
    )
    from mlgov.domain.tagging import TagDefaults
    from mlgov.handlers import auto_tagger
    from mlgov.repo_files import DEFAULT_POLICIES_DIR, load_schema
    from mlgov.settings import settings
    from tests.samples import cloudtrail as ct

    with mock_aws():
        sm = boto3.client("sagemaker", region_name="eu-west-1")
        boto3.client("dynamodb", region_name="eu-west-1").create_table(
            TableName="idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        os.environ.update(
            MLGOV_HUB_ACCOUNT=ct.HUB_ACCOUNT,
            MLGOV_IDEMPOTENCY_TABLE="idempotency",
            MLGOV_TAG_DEFAULTS=TagDefaults.from_schema(load_schema(DEFAULT_POLICIES_DIR / "tag_schema.json")).to_json(),
        )
        settings.cache_clear()
        auto_tagger._runtime.cache_clear()
        arns = []
        for index in range(events * 2):
            arns.append(
                sm.create_model(
                    ModelName=f"bench-{index}",
                    ExecutionRoleArn=f"arn:aws:iam::{ct.HUB_ACCOUNT}:role/x",
                    PrimaryContainer={"Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/x:1"},
                    Tags=[{"Key": "ml:team", "Value": "fraud"}],
                )["ModelArn"]
            )
        floor_arns, handler_arns = arns[:events], arns[events:]
        dynamodb = boto3.client("dynamodb", region_name="eu-west-1")

        start = time.perf_counter()
        for arn in floor_arns:
            dynamodb.put_item(
                TableName="idempotency",
                Item={"id": {"S": arn}, "status": {"S": "INPROGRESS"}},
                ConditionExpression="attribute_not_exists(id)",
            )
            sm.list_tags(ResourceArn=arn)
            sm.add_tags(ResourceArn=arn, Tags=[{"Key": "mlgov:created-by", "Value": "alice@example.com"}])
            dynamodb.update_item(
                TableName="idempotency",
                Key={"id": {"S": arn}},
                UpdateExpression="SET #s = :done",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":done": {"S": "COMPLETED"}},
            )
        floor_seconds = time.perf_counter() - start

        context = type(
            "Context",
            (),
            {
                "function_name": "bench",
                "memory_limit_in_mb": 256,
                "invoked_function_arn": "arn:aws:lambda:eu-west-1:123456789012:function:b",
                "aws_request_id": "bench",
                "get_remaining_time_in_millis": lambda self: 60000,
            },
        )()
        batch = [
            ct.create_event("CreateModel", {"modelName": arn.rsplit("/", 1)[1]}, {"modelArn": arn})
            for arn in handler_arns
        ]
        start = time.perf_counter()
        for event in batch:
            result = auto_tagger.handler(event, context)
            assert result["status"] == "tagged", result
        handler_seconds = time.perf_counter() - start
    return events / floor_seconds, events / handler_seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON (read by bench/report.py)")
    args = parser.parse_args()
    boto3_ms, handler_ms = cold_import(args.runs)
    floor_rate, handler_rate = throughput(args.events)
    print("| benchmark | baseline | mlgov | ratio |")
    print("|---|---|---|---|")
    print(
        f"| auto-tagger cold import (median of {args.runs}) | import boto3: {boto3_ms:.0f} ms | "
        f"{handler_ms:.0f} ms | {handler_ms / boto3_ms:.2f}x (goal <= 1.5x) |"
    )
    print(
        f"| auto-tagger events/s on moto ({args.events} events) | same 4 calls made directly: {floor_rate:.0f}/s | "
        f"{handler_rate:.0f}/s | {handler_rate / floor_rate:.2f}x of the floor |"
    )
    if args.json:
        from bench._results import measured, write_json

        write_json(
            args.json,
            "auto_tagger",
            {"events": args.events, "runs": args.runs},
            [
                measured(
                    f"auto-tagger cold import (median of {args.runs})",
                    "import time",
                    handler_ms,
                    boto3_ms,
                    "ms",
                    handler_ms / boto3_ms,
                    "of import boto3",
                    goal=("<=", 1.5),
                    baseline_name="import boto3 alone",
                ),
                measured(
                    f"auto-tagger on moto ({args.events} events)",
                    "events per second",
                    handler_rate,
                    floor_rate,
                    "/s",
                    handler_rate / floor_rate,
                    "of the floor",
                    baseline_name="the same 4 AWS calls made directly",
                ),
            ],
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
