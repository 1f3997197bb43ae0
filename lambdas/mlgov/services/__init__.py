"""Use cases, one module each, shared by the CLI and the Lambda handlers; they import only `mlgov.domain` and
`mlgov.aws` (tests/unit/test_import_rules.py)."""
