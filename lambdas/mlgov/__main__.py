"""`python -m mlgov` runs the CLI."""

from mlgov.cli import main

raise SystemExit(main())
