"""How one model artifact is copied into the archive so that its copy can be verified without re-reading it.

Pure: takes the source's HeadObject (ChecksumMode=ENABLED) and, for a multipart source, its parts (GetObjectAttributes
ObjectParts) and returns a `CopyPlan`; checks the archived copy against the plan. The S3 adapter
(`mlgov.aws.snapshot_store`) carries the plan out server-side (CopyObject / UploadPartCopy: no artifact byte passes
through the Lambda to be copied) and, only when S3 holds no usable checksum, streams the source to hash it.

The rule, first that applies:
1. **The source has a full-object checksum** (every object written since S3's default CRC64NVME, or uploaded with a
   checksum): the copy asks S3 for the same algorithm, so both sides carry comparable full-object checksums. Up to
   5 GiB one CopyObject; above, a multipart copy with `ChecksumType=FULL_OBJECT` (S3 supports it for the CRC family,
   the only full-object checksums a multipart source can have).
2. **The source is multipart with a composite checksum** (`<base64>-<parts>`): the copy mirrors the source's part
   boundaries with the same algorithm (`COMPOSITE`), so S3's checksum of each archived part is compared with the
   source's part of the same number, and the two composite values are equal exactly when every part is.
3. **Otherwise** (old objects without checksums, or a composite source whose parts S3 does not list): the copy asks
   for SHA-256 (one CopyObject up to 5 GiB, else `COMPOSITE` parts) and mlgov hashes the source's byte ranges itself
   (`hash_ranges`), each range compared with the SHA-256 S3 computed for the archived part. Ranges are at most one
   part (<= 5 GiB), so no single hash outlives a Lambda; when the total is more than one Lambda should hash
   (`HASH_IN_TASK_MAX`), the ranges are hashed by the approval state machine's Distributed Map, one per iteration.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

GIB, MIB = 1024**3, 1024**2
COPY_OBJECT_MAX = 5 * GIB  # CopyObject's limit; larger objects need UploadPartCopy
PART_SIZE = 512 * MIB
PART_MIN, PART_MAX, PARTS_MAX = 5 * MIB, 5 * GIB, 10_000  # S3 multipart limits
HASH_IN_TASK_MAX = 8 * GIB  # what the snapshot task hashes itself (>= 50 MB/s from S3: < 3 min of its 15)
CRC_ALGORITHMS = ("CRC64NVME", "CRC32C", "CRC32")  # the only full-object checksums of a multipart upload
COPY_ALGORITHMS = ("SHA256", "SHA1", *CRC_ALGORITHMS)  # strongest first; all accepted by CopyObject
FULL_OBJECT, COMPOSITE = "FULL_OBJECT", "COMPOSITE"
_COMPOSITE_VALUE = re.compile(r"-(\d+)$")


@dataclass(frozen=True)
class CopyPlan:
    """How to copy one object. `ranges` (inclusive byte ranges, one per part) is empty for a single CopyObject."""

    algorithm: str
    checksum_type: str  # FULL_OBJECT | COMPOSITE
    ranges: tuple[tuple[int, int], ...]
    hashed: bool  # mlgov hashes the source (rule 3); else S3's checksums are compared (rules 1 and 2)
    source_parts: tuple[str, ...] = ()  # rule 2: the source's checksum of each part, in part order
    rule: str = ""

    @property
    def multipart(self) -> bool:
        return bool(self.ranges)

    def hash_ranges(self, size: int) -> tuple[tuple[int, int], ...]:
        """The byte ranges mlgov hashes (rule 3): one per archived part, or the whole object."""
        if not self.hashed:
            return ()
        return self.ranges or ((0, size - 1),)


def full_object_checksum(head: Mapping[str, Any], algorithms: Sequence[str] = COPY_ALGORITHMS) -> tuple[str, str]:
    """(algorithm, value) of the strongest full-object checksum in a HeadObject response, or ("", "")."""
    if head.get("ChecksumType") == COMPOSITE:
        return "", ""
    for algorithm in algorithms:
        value = head.get(f"Checksum{algorithm}")
        if value and not _COMPOSITE_VALUE.search(value):
            return algorithm, value
    return "", ""


def composite_checksum(head: Mapping[str, Any]) -> tuple[str, str, int]:
    """(algorithm, value, parts) of a composite checksum (`<base64>-<parts>`) in a HeadObject response."""
    for algorithm in COPY_ALGORITHMS:
        value = head.get(f"Checksum{algorithm}") or ""
        match = _COMPOSITE_VALUE.search(value)
        if match:
            return algorithm, value, int(match.group(1))
        if value and head.get("ChecksumType") == COMPOSITE:  # S3 appends -<parts>; tolerate a response without it
            return algorithm, value, int(head.get("PartsCount") or 0)
    return "", "", 0


def _digest_part(value: str) -> str:
    return _COMPOSITE_VALUE.sub("", value or "")


def fixed_ranges(size: int, part_size: int = PART_SIZE) -> tuple[tuple[int, int], ...]:
    """Byte ranges of `part_size` (grown so there are at most 10,000 parts) covering `size` bytes."""
    if size <= 0:
        return ()
    part = max(part_size, PART_MIN, math.ceil(size / PARTS_MAX))
    return tuple((start, min(start + part, size) - 1) for start in range(0, size, part))


def mirrored_ranges(parts: Sequence[Mapping[str, Any]]) -> tuple[tuple[int, int], ...]:
    ranges, start = [], 0
    for part in parts:
        ranges.append((start, start + int(part["Size"]) - 1))
        start += int(part["Size"])
    return tuple(ranges)


def plan_copy(
    head: Mapping[str, Any],
    parts: Sequence[Mapping[str, Any]] | None = None,
    *,
    copy_object_max: int = COPY_OBJECT_MAX,
    part_size: int = PART_SIZE,
) -> CopyPlan:
    """The plan for one source object (module docstring). `parts`: GetObjectAttributes ObjectParts.Parts, every page
    (PartNumber, Size, Checksum<algorithm>), or None when S3 listed none."""
    size = int(head.get("ContentLength") or 0)
    algorithms = COPY_ALGORITHMS if size <= copy_object_max else CRC_ALGORITHMS
    algorithm, _ = full_object_checksum(head, algorithms)
    if algorithm:
        ranges = () if size <= copy_object_max else fixed_ranges(size, part_size)
        return CopyPlan(algorithm, FULL_OBJECT, ranges, hashed=False, rule="full-object checksum")
    algorithm, _, count = composite_checksum(head)
    listed = sorted(parts or [], key=lambda part: int(part["PartNumber"]))
    if (
        algorithm
        and len(listed) == count
        and [int(part["PartNumber"]) for part in listed] == list(range(1, count + 1))
        and all(part.get(f"Checksum{algorithm}") for part in listed)
        and sum(int(part["Size"]) for part in listed) == size
    ):
        return CopyPlan(
            algorithm,
            COMPOSITE,
            mirrored_ranges(listed),
            hashed=False,
            source_parts=tuple(part[f"Checksum{algorithm}"] for part in listed),
            rule="composite checksum, parts mirrored",
        )
    if size <= copy_object_max:
        return CopyPlan("SHA256", FULL_OBJECT, (), hashed=True, rule="hashed by mlgov")
    return CopyPlan("SHA256", COMPOSITE, fixed_ranges(size, part_size), hashed=True, rule="hashed by mlgov, per part")


def part_problems(plan_parts: Sequence[str], copied_parts: Sequence[str], label: str) -> list[str]:
    """Rule 2 at copy time: each archived part's checksum against the source part of the same number."""
    if len(plan_parts) != len(copied_parts):
        return [f"{label}: {len(copied_parts)} parts archived, the source has {len(plan_parts)}"]
    for number, (source, archived) in enumerate(zip(plan_parts, copied_parts, strict=True), start=1):
        if source != archived:
            return [f"{label}: part {number} of {len(plan_parts)} differs ({archived} vs source {source})"]
    return []


def composite_of(part_checksums: Sequence[str], algorithm: str) -> str:
    """S3's composite checksum of a multipart object from its parts' checksums: the checksum of the concatenated
    raw part checksums, then `-<parts>`. Only SHA-256/SHA-1 are computed here (what rule 3 writes)."""
    digest = {"SHA256": hashlib.sha256, "SHA1": hashlib.sha1}[algorithm]()
    for value in part_checksums:
        digest.update(base64.b64decode(value))
    return f"{base64.b64encode(digest.digest()).decode()}-{len(part_checksums)}"


def hashed_problems(
    label: str,
    archive_head: Mapping[str, Any],
    archived_parts: Sequence[str] | None,
    source_hashes: Sequence[str | None],
) -> list[str]:
    """Rule 3: the SHA-256 mlgov computed of each source range against what S3 computed for the archived bytes.

    A single-part copy is compared with the archive's full-object SHA-256. A multipart copy: the part checksums
    recorded at copy time must compose to the archive's current composite SHA-256 (so they are the archive's parts),
    and each must equal the source range's hash. A range not hashed yet (None) is a problem."""
    missing = [str(number) for number, value in enumerate(source_hashes, start=1) if not value]
    if missing:
        return [f"{label}: source range(s) {', '.join(missing[:5])} of {len(source_hashes)} not hashed yet"]
    if not archived_parts:
        algorithm, value = full_object_checksum(archive_head, ("SHA256",))
        if not algorithm:
            return [f"{label}: the archive holds no full-object SHA-256 to compare"]
        if len(source_hashes) != 1 or value != source_hashes[0]:
            return [f"{label}: checksum mismatch (SHA256 {value} vs source {source_hashes[0]})"]
        return []
    composite = archive_head.get("ChecksumSHA256") or ""
    if _digest_part(composite) != _digest_part(composite_of(archived_parts, "SHA256")):
        return [f"{label}: the archive's composite SHA-256 {composite or '(none)'} is not its recorded parts'"]
    return part_problems(list(source_hashes), list(archived_parts), label)
