"""Which If-None-Match fields name an ETag (RFC 9110 13.1.2), and who may be public."""

from __future__ import annotations

import pytest
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, empty

from petshore.auth import admin_required
from petshore.web import etag_matches, public_get

ETAG = '"3f2a"'


@pytest.mark.parametrize(
    "fields",
    [
        ['"3f2a"'],
        ['W/"3f2a"'],
        ["*"],
        [" * "],
        ['"old", "3f2a"'],
        ['"old",W/"3f2a"'],
        ['"a,b" ,, "3f2a" ,'],
        [', "3f2a"'],
        ['"old"', '"3f2a"'],
        ['"old"\t,\t"3f2a"'],
    ],
)
def test_a_field_naming_the_etag_or_anything_matches(fields: list[str]) -> None:
    assert etag_matches(fields, ETAG)


@pytest.mark.parametrize(
    "fields",
    [
        [],
        [""],
        ['"old"'],
        ['"3f2"'],
        ['"3f2a "'],
        ["3f2a"],
        ['w/"3f2a"'],
        ['"3f2a" "3f2a"'],
        ['"old", 3f2a'],
        ['*, "3f2a"'],
        ["*", '"3f2a"'],
        ['"3f2a'],
        ['"3f\x002a"'],
    ],
)
def test_a_field_not_naming_it_or_not_a_valid_list_matches_nothing(fields: list[str]) -> None:
    assert not etag_matches(fields, ETAG)


def test_the_comparison_is_weak_on_both_sides() -> None:
    assert etag_matches(['"3f2a"'], 'W/"3f2a"')
    assert etag_matches(['W/"3f2a"'], 'W/"3f2a"')


def test_an_admin_route_cannot_be_public() -> None:
    bp = Blueprint("caching_test")

    @admin_required
    async def secret(request: Request) -> HTTPResponse:
        return empty()

    with pytest.raises(TypeError, match="never public"):
        public_get(bp, "/secret", max_age=60)(secret)
