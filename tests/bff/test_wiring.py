from __future__ import annotations

import httpx
import pytest

from bff.settings import Settings as BffSettings
from bff.wiring import Components

pytestmark = pytest.mark.anyio


async def test_the_pages_and_the_proxy_reach_the_api_through_pools_of_their_own(
    bff_settings: BffSettings,
) -> None:
    components = Components(bff_settings)
    pages, proxy = components.api_client, components.proxy_client
    try:
        assert pages is not proxy
        assert isinstance(pages._transport, httpx.AsyncHTTPTransport)
        assert isinstance(proxy._transport, httpx.AsyncHTTPTransport)
        assert pages._transport is not proxy._transport  # each its own connection pool
        assert pages.base_url == proxy.base_url
        assert components.proxy.in_flight.limit == bff_settings.proxy_calls_per_session
    finally:
        await pages.aclose()
        await proxy.aclose()


async def test_an_injected_transport_serves_both_unless_the_proxy_has_its_own(
    bff_settings: BffSettings,
) -> None:
    shared = httpx.MockTransport(lambda request: httpx.Response(204))
    own = httpx.MockTransport(lambda request: httpx.Response(204))
    one = Components(bff_settings, api_transport=shared)
    two = Components(bff_settings, api_transport=shared, proxy_transport=own)
    assert one.api_client._transport is one.proxy_client._transport is shared
    assert two.api_client._transport is shared and two.proxy_client._transport is own
