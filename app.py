"""CDK entry point: load and validate the one config, instantiate the stacks (nothing else)."""

import sys

import aws_cdk as cdk

from mlgov.domain.scp_compiler import PolicyTooLargeError
from mlgov.domain.tag_schema import SchemaError
from stacks.app_builder import build_app
from stacks.config import ConfigError
from stacks.org_stack import SpokeTemplateTooLargeError


def main() -> int:
    app = cdk.App()
    try:
        build_app(app)
    except (ConfigError, SchemaError, PolicyTooLargeError, SpokeTemplateTooLargeError) as err:
        print(f"mlgov: {err}", file=sys.stderr)
        return 1
    app.synth()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
