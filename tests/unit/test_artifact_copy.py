"""Copy plans and hashed-range verification (mlgov.domain.artifact_copy): pure, no AWS."""

from __future__ import annotations

import base64
import hashlib

import pytest

from mlgov.domain.artifact_copy import (
    COPY_OBJECT_MAX,
    GIB,
    MIB,
    PART_SIZE,
    PARTS_MAX,
    composite_checksum,
    composite_of,
    fixed_ranges,
    hashed_problems,
    part_problems,
    plan_copy,
)

pytestmark = pytest.mark.unit


def sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_a_full_object_checksum_is_copied_with_the_same_algorithm_in_one_copy():
    plan = plan_copy({"ContentLength": 10, "ChecksumCRC64NVME": "AAAAAAAAAAA=", "ChecksumType": "FULL_OBJECT"})
    assert (plan.algorithm, plan.checksum_type, plan.ranges, plan.hashed) == ("CRC64NVME", "FULL_OBJECT", (), False)


def test_the_strongest_full_object_checksum_wins():
    plan = plan_copy({"ContentLength": 10, "ChecksumCRC32": "x", "ChecksumSHA256": "y"})
    assert plan.algorithm == "SHA256"


def test_above_5_gib_only_a_crc_can_stay_full_object_and_the_copy_is_split_in_512_mib_parts():
    size = 12 * GIB
    plan = plan_copy({"ContentLength": size, "ChecksumCRC32C": "q"})
    assert plan.checksum_type == "FULL_OBJECT" and plan.algorithm == "CRC32C" and not plan.hashed
    assert len(plan.ranges) == 24 and plan.ranges[0] == (0, PART_SIZE - 1) and plan.ranges[-1][1] == size - 1
    assert all(b == a + 1 for (_, a), (b, _) in zip(plan.ranges, plan.ranges[1:], strict=False))


def test_a_composite_source_is_mirrored_part_for_part():
    parts = [
        {"PartNumber": 2, "Size": 3 * MIB, "ChecksumSHA1": "b"},
        {"PartNumber": 1, "Size": 8 * MIB, "ChecksumSHA1": "a"},
    ]
    head = {"ContentLength": 11 * MIB, "ChecksumSHA1": "zz-2", "ChecksumType": "COMPOSITE"}
    plan = plan_copy(head, parts)
    assert plan.checksum_type == "COMPOSITE" and plan.algorithm == "SHA1" and not plan.hashed
    assert plan.ranges == ((0, 8 * MIB - 1), (8 * MIB, 11 * MIB - 1)) and plan.source_parts == ("a", "b")


@pytest.mark.parametrize(
    "parts",
    [
        None,  # S3 listed no parts
        [{"PartNumber": 1, "Size": 11 * MIB, "ChecksumSHA1": "a"}],  # count differs from -2
        [{"PartNumber": 1, "Size": 8 * MIB, "ChecksumSHA1": "a"}, {"PartNumber": 2, "Size": 3 * MIB}],  # no checksum
        [
            {"PartNumber": 1, "Size": 8 * MIB, "ChecksumSHA1": "a"},
            {"PartNumber": 3, "Size": 3 * MIB, "ChecksumSHA1": "b"},
        ],
        [
            {"PartNumber": 1, "Size": 8 * MIB, "ChecksumSHA1": "a"},
            {"PartNumber": 2, "Size": 2 * MIB, "ChecksumSHA1": "b"},
        ],
    ],
)
def test_a_composite_source_whose_parts_do_not_add_up_is_hashed_instead(parts):
    head = {"ContentLength": 11 * MIB, "ChecksumSHA1": "zz-2", "ChecksumType": "COMPOSITE"}
    plan = plan_copy(head, parts)
    assert plan.hashed and plan.algorithm == "SHA256" and plan.hash_ranges(11 * MIB) == ((0, 11 * MIB - 1),)


def test_a_source_without_checksums_is_hashed_whole_or_per_part():
    small = plan_copy({"ContentLength": 100})
    assert small.hashed and small.checksum_type == "FULL_OBJECT" and small.hash_ranges(100) == ((0, 99),)
    big = plan_copy({"ContentLength": COPY_OBJECT_MAX + 1})
    assert big.hashed and big.checksum_type == "COMPOSITE" and big.hash_ranges(COPY_OBJECT_MAX + 1) == big.ranges
    assert plan_copy({"ContentLength": 0}).hash_ranges(0) == ((0, -1),)


def test_a_source_checksum_a_multipart_copy_cannot_keep_is_hashed_above_5_gib():
    """A 5 GiB+ object cannot have a full-object SHA-256; a malformed head that says so still gets verified."""
    plan = plan_copy({"ContentLength": 6 * GIB, "ChecksumSHA256": "y"})
    assert plan.hashed and plan.checksum_type == "COMPOSITE"


def test_fixed_ranges_never_exceed_10000_parts():
    size = 5 * 1024 * GIB  # S3's largest object
    ranges = fixed_ranges(size)
    assert len(ranges) <= PARTS_MAX and ranges[-1][1] == size - 1
    assert max(b - a + 1 for a, b in ranges) <= 5 * GIB
    assert fixed_ranges(0) == ()


def test_composite_values_are_read_with_their_part_count():
    assert composite_checksum({"ChecksumSHA256": "abc=-3"}) == ("SHA256", "abc=-3", 3)
    assert composite_checksum({"ChecksumSHA256": "abc=", "ChecksumType": "COMPOSITE", "PartsCount": 2}) == (
        "SHA256",
        "abc=",
        2,
    )
    assert composite_checksum({"ChecksumSHA256": "abc="}) == ("", "", 0)


def test_part_problems_name_the_first_differing_part_and_a_count_mismatch():
    assert part_problems(["a", "b"], ["a", "b"], "s3://b/k") == []
    assert part_problems(["a", "b"], ["a", "B"], "s3://b/k") == ["s3://b/k: part 2 of 2 differs (B vs source b)"]
    assert part_problems(["a", "b"], ["a"], "s3://b/k") == ["s3://b/k: 1 parts archived, the source has 2"]


def test_hashed_ranges_verify_against_the_parts_that_compose_the_archive_checksum():
    chunks = [b"one", b"two"]
    parts = [sha(c) for c in chunks]
    archive = {"ChecksumSHA256": composite_of(parts, "SHA256"), "ChecksumType": "COMPOSITE"}
    assert hashed_problems("k", archive, parts, parts) == []
    assert "part 2 of 2 differs" in hashed_problems("k", archive, parts, [parts[0], sha(b"TWO")])[0]
    # recorded parts that are not the archive's (its current version was replaced): refused
    replaced = {"ChecksumSHA256": composite_of([sha(b"x"), sha(b"y")], "SHA256")}
    assert "is not its recorded parts" in hashed_problems("k", replaced, parts, parts)[0]
    assert hashed_problems("k", archive, parts, [parts[0], None]) == ["k: source range(s) 2 of 2 not hashed yet"]


def test_a_single_hashed_range_compares_with_the_full_object_sha256():
    assert hashed_problems("k", {"ChecksumSHA256": sha(b"m")}, None, [sha(b"m")]) == []
    assert "checksum mismatch" in hashed_problems("k", {"ChecksumSHA256": sha(b"n")}, None, [sha(b"m")])[0]
    assert "no full-object SHA-256" in hashed_problems("k", {"ChecksumCRC32": "x"}, None, [sha(b"m")])[0]
