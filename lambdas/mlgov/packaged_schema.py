"""The tag schema inside the Lambda code asset (mlgov/data/tag_schema.json, a checked copy of policies/tag_schema.json).

The asset is the lambdas/ folder only, so policies/ is not there; and jsonschema (with its compiled dependencies) is
neither in the Lambda runtime nor in the Powertools layer. The copy is validated where jsonschema is installed (tests,
CLI, synth: a test proves it equals policies/tag_schema.json); in a Lambda it is parsed without the JSON Schema pass,
by the same semantic rules.
"""

from __future__ import annotations

import json
from importlib import resources

from mlgov.domain.tag_schema import SchemaError, TagSchema, parse_schema

PACKAGED_SCHEMA_RESOURCE = "data/tag_schema.json"


def packaged_schema_text() -> str:
    return resources.files("mlgov").joinpath(PACKAGED_SCHEMA_RESOURCE).read_text()


def load_packaged_schema(text: str | None = None, source: str = f"mlgov/{PACKAGED_SCHEMA_RESOURCE}") -> TagSchema:
    """`text` (default: the packaged copy) as a TagSchema; SchemaError (one line) when it is unusable."""
    try:
        raw = json.loads(text if text is not None else packaged_schema_text())
    except json.JSONDecodeError as err:
        raise SchemaError(f"{source}: not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})") from None
    try:
        import jsonschema  # noqa: F401  (present in the venv; absent in the Lambda runtime)
    except ImportError:
        return parse_trusted_schema(raw, source)
    from mlgov.repo_files import meta_schema

    return parse_schema(raw, meta_schema(), source=source)


def parse_trusted_schema(raw: dict, source: str) -> TagSchema:
    """parse_schema's semantic checks without the JSON Schema pass, for a file already validated at build time.

    Uses tag_schema.build_schema, so both paths build the same TagSchema (a test compares them). A malformed file
    still fails here, with a KeyError/TypeError turned into a SchemaError, never a half-parsed schema.
    """
    from mlgov.domain.tag_schema import build_schema

    try:
        return build_schema(raw, source)
    except (KeyError, TypeError, AttributeError) as err:
        raise SchemaError(f"{source}: malformed ({type(err).__name__}: {err})") from None
