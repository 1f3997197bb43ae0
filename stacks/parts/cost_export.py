"""Athena over the organization's FOCUS 1.2 export (config `cost_export`): a Glue table with partition projection by
billing period, the `mlgov` workgroup with its own encrypted results bucket, and the managed policy
`mlgov-cost-export-readers` that lets a role run `mlgov costs --athena-table` — and nothing more."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from cdk_nag import NagSuppressions
from constructs import Construct

from stacks.config import CostExportConfig

WORKGROUP_NAME = "mlgov"
READERS_POLICY_NAME = "mlgov-cost-export-readers"
RESULTS_DAYS = 7
# The FOCUS 1.2 columns mlgov reads and their types in AWS's export (Data Exports table dictionary, "FOCUS 1.2 with
# AWS columns"); Parquet is read by column name, so the export's other columns need no declaration.
FOCUS_COLUMNS = {
    "BilledCost": "double",
    "EffectiveCost": "double",
    "ListCost": "double",
    "ContractedCost": "double",
    "BillingCurrency": "string",
    "ChargeCategory": "string",
    "ChargeClass": "string",
    "ChargePeriodStart": "timestamp",
    "ChargePeriodEnd": "timestamp",
    "PricingCategory": "string",
    "CommitmentDiscountType": "string",
    "ConsumedQuantity": "double",
    "ConsumedUnit": "string",
    "ResourceId": "string",
    "RegionId": "string",
    "ServiceName": "string",
    "SubAccountId": "string",
    "Tags": "map<string,string>",
    "x_UsageType": "string",
}
PARTITION = "billing_period"  # AWS Data Exports writes BILLING_PERIOD=YYYY-MM/ folders


class CostExportQueries(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: CostExportConfig, logs: s3.IBucket) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        location = f"s3://{config.bucket}/{config.prefix}"
        database = glue.CfnDatabase(
            self, "Database", catalog_id=stack.account, database_input={"name": config.database}
        )
        table = glue.CfnTable(
            self,
            "Table",
            catalog_id=stack.account,
            database_name=config.database,
            table_input=glue.CfnTable.TableInputProperty(
                name=config.table,
                description="the organization's FOCUS 1.2 export (AWS Data Exports, Parquet), for mlgov costs",
                table_type="EXTERNAL_TABLE",
                partition_keys=[glue.CfnTable.ColumnProperty(name=PARTITION, type="string")],
                parameters={
                    "classification": "parquet",
                    "projection.enabled": "true",
                    f"projection.{PARTITION}.type": "date",
                    f"projection.{PARTITION}.format": "yyyy-MM",
                    f"projection.{PARTITION}.range": "2020-01,NOW",
                    f"projection.{PARTITION}.interval": "1",
                    f"projection.{PARTITION}.interval.unit": "MONTHS",
                    "storage.location.template": f"{location}BILLING_PERIOD=${{{PARTITION}}}/",
                },
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=location,
                    columns=[glue.CfnTable.ColumnProperty(name=n, type=t) for n, t in FOCUS_COLUMNS.items()],
                    input_format="org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
                    ),
                ),
            ),
        )
        table.add_dependency(database)
        self.results = s3.Bucket(
            self,
            "Results",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            server_access_logs_bucket=logs,
            server_access_logs_prefix="athena-results/",
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(RESULTS_DAYS))],
            # a non-empty bucket cannot be deleted by CloudFormation: kept like the archive (README, Uninstall)
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=WORKGROUP_NAME,
            description="mlgov costs: SageMaker's billed cost from the FOCUS export",
            recursive_delete_option=True,  # cdk destroy removes it even if someone saved queries in it
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=200 * 1024**3,  # a runaway query stops at 200 GB (~$1)
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=self.results.s3_url_for_object("results/"),
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_S3"
                    ),
                ),
            ),
        )
        self.readers = self._readers_policy(config, stack)
        cdk.CfnOutput(scope, "CostExportTable", value=f"{config.database}.{config.table}")

    def _readers_policy(self, config: CostExportConfig, stack: cdk.Stack) -> iam.ManagedPolicy:
        partition, region, account = stack.partition, stack.region, stack.account
        glue_arn = f"arn:{partition}:glue:{region}:{account}"
        export_prefix = config.prefix
        statements = [
            iam.PolicyStatement(
                sid="RunQueriesInTheMlgovWorkgroup",
                actions=[
                    "athena:StartQueryExecution",
                    "athena:GetQueryExecution",
                    "athena:GetQueryResults",
                    "athena:GetTableMetadata",
                    "athena:StopQueryExecution",
                ],  # fmt: skip
                resources=[
                    f"arn:{partition}:athena:{region}:{account}:workgroup/{WORKGROUP_NAME}",
                    f"arn:{partition}:athena:{region}:{account}:datacatalog/AwsDataCatalog",
                ],
            ),
            iam.PolicyStatement(
                sid="ReadTheExportTable",
                actions=["glue:GetDatabase", "glue:GetTable", "glue:GetPartition", "glue:GetPartitions"],
                resources=[
                    f"{glue_arn}:catalog",
                    f"{glue_arn}:database/{config.database}",
                    f"{glue_arn}:table/{config.database}/{config.table}",
                ],
            ),
            iam.PolicyStatement(
                sid="ReadTheExport",
                actions=["s3:GetObject"],
                resources=[f"arn:{partition}:s3:::{config.bucket}/{export_prefix}*"],
            ),
            iam.PolicyStatement(
                sid="ListTheExport",
                actions=["s3:ListBucket"],
                resources=[f"arn:{partition}:s3:::{config.bucket}"],
                conditions={"StringLike": {"s3:prefix": [f"{export_prefix}*", export_prefix]}},
            ),
            iam.PolicyStatement(
                sid="LocateTheExport",  # GetBucketLocation carries no s3:prefix
                actions=["s3:GetBucketLocation"],
                resources=[f"arn:{partition}:s3:::{config.bucket}"],
            ),
            iam.PolicyStatement(
                sid="WriteAndReadQueryResults",
                actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                resources=[self.results.arn_for_objects("results/*")],
            ),
            iam.PolicyStatement(
                sid="LocateTheResultsBucket",
                actions=["s3:GetBucketLocation", "s3:ListBucket"],
                resources=[self.results.bucket_arn],
            ),
        ]
        if config.kms_key_arn:
            statements.append(
                iam.PolicyStatement(
                    sid="DecryptTheExport",
                    actions=["kms:Decrypt"],
                    resources=[config.kms_key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
                )
            )
        policy = iam.ManagedPolicy(
            self,
            "Readers",
            managed_policy_name=READERS_POLICY_NAME,
            description="run `mlgov costs --athena-table` against the FOCUS export (attach to the FinOps role)",
            statements=statements,
        )
        NagSuppressions.add_resource_suppressions(
            policy,
            [
                {
                    "id": "AwsSolutions-IAM5",
                    "reason": "Objects of the export are named by AWS Data Exports below the configured prefix, and "
                    "Athena names its result objects by query id below results/: both are prefix-scoped.",
                }
            ],
        )
        return policy
