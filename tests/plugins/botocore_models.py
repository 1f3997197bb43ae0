"""One botocore data loader for the whole test process: service models are parsed once, not once per Session.

The tests (and the code under test, which opens a boto3 Session per assumed role) create thousands of Sessions; each
new Session gets a new Loader, which lists the data directories and parses the JSON models again (the SageMaker model
alone is ~2 MB). Sharing one Loader per data path changes no behaviour: the models are read-only files, and Loader
caches them per instance anyway. The shared loader starts with boto3's data directory (which boto3 appends to the
loader of every Session it opens) and refuses any other new path. Undone when the session ends.
"""

from __future__ import annotations

import functools
from pathlib import Path

import boto3
import botocore.loaders
import botocore.session
import pytest


class _SearchPaths(list):
    """A search path list that ignores a path it already holds (boto3 appends its data directory per Session), and
    refuses any other change: the loader is shared, so a path one test added would reach every later Session."""

    def append(self, path: str) -> None:
        if path not in self:
            raise RuntimeError(f"the shared botocore loader cannot take a new search path: {path}")

    def insert(self, index, path) -> None:
        raise RuntimeError(f"the shared botocore loader cannot take a new search path: {path}")

    def extend(self, paths) -> None:
        for path in paths:
            self.append(path)


@functools.cache
def _shared_loader(search_path_string: str | None) -> botocore.loaders.Loader:
    loader = botocore.loaders.create_loader(search_path_string)
    loader.search_paths.append(str(Path(boto3.__file__).parent / "data"))  # what each boto3 Session appends
    loader._search_paths = _SearchPaths(loader.search_paths)
    return loader


def pytest_configure(config) -> None:
    config.stash[_ORIGINAL] = botocore.session.create_loader
    botocore.session.create_loader = _shared_loader


def pytest_unconfigure(config) -> None:
    botocore.session.create_loader = config.stash[_ORIGINAL]
    _shared_loader.cache_clear()


_ORIGINAL = pytest.StashKey()
