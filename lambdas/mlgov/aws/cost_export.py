"""The engines that run mlgov.domain.cost_export's SQL over a FOCUS export: DuckDB in-process over Parquet files (a
laptop, local or s3:// paths; streaming, never a full load) and Athena over the Glue table the hub defines (an
organization's whole export). Both answer `columns()` and `rows(sql)` the same way."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from mlgov.domain.cost_export import (
    ATHENA,
    DUCKDB,
    CostExportError,
    Dialect,
    column_type,
    has_quantities,
    missing_columns,
    tags_storage,
)

DUCKDB_MEMORY_LIMIT = "1GB"  # aggregation over a streamed scan: a few MB of groups; the limit only guards the laptop
ATHENA_POLL_SECONDS = 1.0
ATHENA_TIMEOUT_SECONDS = 600
_ATHENA_DONE = {"SUCCEEDED", "FAILED", "CANCELLED"}


class DuckDbExport:
    """Parquet files of a FOCUS export: a file, a folder (every *.parquet below it) or an s3:// prefix."""

    def __init__(self, location: str, session=None, threads: int = 2) -> None:
        import duckdb

        self.location = location
        self._connection = duckdb.connect(config={"memory_limit": DUCKDB_MEMORY_LIMIT, "threads": threads})
        if location.startswith("s3://"):
            self._s3_credentials(session)
            one_file = location.endswith(".parquet")
            self._files = location if one_file else f"{location.rstrip('/')}/**/*.parquet"
        else:
            path = Path(location)
            if not path.exists():
                raise CostExportError(f"no cost export at {location}")
            self._files = str(path / "**" / "*.parquet") if path.is_dir() else str(path)
        self.source = f"read_parquet('{_quoted(self._files)}', union_by_name = true)"
        columns = self._checked_columns()
        zoned = "TIME ZONE" in column_type(columns, "ChargePeriodStart").upper()  # AWS's UTC-adjusted timestamps
        self.dialect = Dialect(
            DUCKDB, tags_storage(column_type(columns, "Tags")), zoned=zoned, quantities=has_quantities(columns)
        )

    def columns(self) -> dict[str, str]:
        return {name: kind for name, kind, *_ in self._query(f"DESCRIBE SELECT * FROM {self.source}")}

    def rows(self, sql: str) -> list[tuple]:
        return self._query(sql)

    def _checked_columns(self) -> dict[str, str]:
        columns = self.columns()
        if missing := missing_columns(columns):
            raise CostExportError(f"{self.location} is not a FOCUS export: no column {', '.join(missing)}")
        return columns

    def _query(self, sql: str) -> list[tuple]:
        import duckdb

        try:
            return self._connection.execute(sql).fetchall()
        except duckdb.Error as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise CostExportError(f"cannot read the cost export {self.location}: {first}") from None

    def _s3_credentials(self, session) -> None:
        """s3:// through DuckDB's httpfs extension, signed with the boto3 session's credentials."""
        import duckdb

        credentials = session.get_credentials() if session is not None else None
        if credentials is None:
            raise CostExportError(f"no AWS credentials to read {self.location}")
        frozen = credentials.get_frozen_credentials()
        secret = {
            "TYPE": "s3",
            "KEY_ID": frozen.access_key,
            "SECRET": frozen.secret_key,
            "REGION": session.region_name or "us-east-1",
        } | ({"SESSION_TOKEN": frozen.token} if frozen.token else {})
        options = ", ".join(f"{key} '{_quoted(value)}'" for key, value in secret.items())
        try:
            self._connection.execute("INSTALL httpfs; LOAD httpfs;")
            self._connection.execute(f"CREATE SECRET mlgov_export ({options})")
        except duckdb.Error as err:
            first = str(err).strip().splitlines()[0]
            raise CostExportError(f"cannot read s3:// with DuckDB ({first}); copy the export locally first") from None


class AthenaExport:
    """The FOCUS export as the hub's Glue table, queried through the hub's Athena workgroup."""

    def __init__(
        self,
        client,
        database: str,
        table: str,
        workgroup: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        timeout_seconds: float = ATHENA_TIMEOUT_SECONDS,
    ) -> None:
        self._client, self._database, self._table, self._workgroup = client, database, table, workgroup
        self._sleep, self._timeout = sleep, timeout_seconds
        self.location = f"athena://{workgroup}/{database}.{table}"
        self.source = f'"{database}"."{table}"'
        columns = self.columns()
        if missing := missing_columns(columns):
            raise CostExportError(f"{database}.{table} is not a FOCUS export: no column {', '.join(missing)}")
        self.dialect = Dialect(ATHENA, tags_storage(column_type(columns, "Tags")), quantities=has_quantities(columns))

    def columns(self) -> dict[str, str]:
        """Glue keeps column names in lower case; Athena's SQL does not care, the FOCUS check maps them back."""
        try:
            metadata = self._client.get_table_metadata(
                CatalogName="AwsDataCatalog", DatabaseName=self._database, TableName=self._table
            )["TableMetadata"]
        except (ClientError, BotoCoreError) as err:
            raise CostExportError(f"cannot read the Glue table {self._database}.{self._table}: {err}") from None
        return {column["Name"]: column["Type"] for column in metadata.get("Columns", [])}

    def rows(self, sql: str) -> list[tuple]:
        try:
            started = self._client.start_query_execution(
                QueryString=sql,
                QueryExecutionContext={"Database": self._database, "Catalog": "AwsDataCatalog"},
                WorkGroup=self._workgroup,
            )
            execution_id = started["QueryExecutionId"]
            self._wait(execution_id)
            return self._results(execution_id)
        except (ClientError, BotoCoreError) as err:
            raise CostExportError(f"Athena query in workgroup {self._workgroup} failed: {err}") from None

    def _wait(self, execution_id: str) -> None:
        waited = 0.0
        while True:
            status = self._client.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]["Status"]
            if status["State"] in _ATHENA_DONE:
                break
            if waited >= self._timeout:
                self._client.stop_query_execution(QueryExecutionId=execution_id)  # stop paying for its scan
                raise CostExportError(f"Athena query {execution_id} still {status['State']} after {waited:.0f} s")
            self._sleep(ATHENA_POLL_SECONDS)
            waited += ATHENA_POLL_SECONDS
        if status["State"] != "SUCCEEDED":
            reason = status.get("StateChangeReason") or (status.get("AthenaError") or {}).get("ErrorMessage") or ""
            raise CostExportError(f"Athena query {execution_id} {status['State']}: {reason}".rstrip(": "))

    def _results(self, execution_id: str) -> list[tuple]:
        rows: list[tuple] = []
        header_skipped = False
        for page in self._client.get_paginator("get_query_results").paginate(QueryExecutionId=execution_id):
            types = [c["Type"] for c in page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]]
            for row in page["ResultSet"]["Rows"]:
                if not header_skipped:  # Athena repeats the column names as the first row of the first page
                    header_skipped = True
                    continue
                cells = zip(row["Data"], types, strict=True)
                rows.append(tuple(_value(cell.get("VarCharValue"), kind) for cell, kind in cells))
        return rows


def _value(text: str | None, kind: str) -> object:
    if text is None:
        return None
    if kind in ("decimal", "double", "float", "real", "bigint", "integer"):
        try:
            return Decimal(text)
        except InvalidOperation:
            return None
    return text


def _quoted(value: str) -> str:
    return str(value).replace("'", "''")
