"""One botocore data loader for the whole test process: service models are parsed once, not once per Session.

The tests (and the code under test, which opens a boto3 Session per assumed role) create thousands of Sessions; each
new Session gets a new Loader, which lists the data directories and parses the JSON models again (the SageMaker model
alone is ~2 MB). Sharing one Loader per data path changes no behaviour: the models are read-only files, and Loader
caches them per instance anyway. boto3 appends its own data directory to the loader of every Session it opens, so the
shared loader keeps its search paths free of duplicates.
"""

from __future__ import annotations

import functools

import botocore.loaders
import botocore.session


class _SearchPaths(list):
    """A search path list that ignores a path it already holds (boto3 appends its data directory per Session)."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


@functools.cache
def _shared_loader(search_path_string: str | None) -> botocore.loaders.Loader:
    loader = botocore.loaders.create_loader(search_path_string)
    loader._search_paths = _SearchPaths(loader.search_paths)
    return loader


def pytest_configure(config) -> None:
    botocore.session.create_loader = _shared_loader
