"""oairt_trio.rest: every scenario of tests/test_anyio_rest.py, with the trio client on trio."""

from __future__ import annotations

import pytest

import oairt_trio.rest
from tests.test_anyio_rest import *  # noqa: F403
from tests.test_anyio_rest import MakeClient


@pytest.fixture
def anyio_backend() -> str:
    return "trio"


@pytest.fixture  # type: ignore[no-redef]
def make_client() -> MakeClient:
    return oairt_trio.rest.RealtimeRestClient  # type: ignore[return-value]


def test_the_trio_client_is_the_one_under_test(make_client: MakeClient) -> None:
    assert make_client is oairt_trio.rest.RealtimeRestClient  # type: ignore[comparison-overlap]
