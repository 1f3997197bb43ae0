"""The tag keys each mlgov role may write: IAM conditions on aws:TagKeys are built from this one place."""

from __future__ import annotations

from functools import cache

from mlgov.domain.tagging import AUTO_TAGGER_KEYS, INHERITED_PREFIX
from mlgov.repo_files import DEFAULT_POLICIES_DIR, load_schema


@cache
def auto_tagger_writable_keys() -> tuple[str, ...]:
    return (*AUTO_TAGGER_KEYS, *lifetime_keys(), f"{INHERITED_PREFIX}*")


@cache
def lifetime_keys() -> tuple[str, ...]:
    """The schema's lifetime tag (auto-delete-after), or none when the schema has no date tag."""
    lifetime = load_schema(DEFAULT_POLICIES_DIR / "tag_schema.json").lifetime_rule()
    return (lifetime.key,) if lifetime else ()
