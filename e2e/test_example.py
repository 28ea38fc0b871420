"""The README's example of the Playwright kit, as an application team would write it."""

import httpx
from playwright.sync_api import expect

from bff.testing.browser import assert_no_token_stored, axe_violations
from bff.testing.plugin import ApiToken, MakeUser, SignedInContext
from bff.testing.pool import RunningStack


def test_notes_page_for_a_signed_in_user(
    bff_stack: RunningStack,
    make_user: MakeUser,
    signed_in_context: SignedInContext,
    api_token: ApiToken,
) -> None:
    user = make_user(role="user")
    page = signed_in_context(user).new_page()
    page.goto("/app")
    expect(page.locator('#status[data-state="ok"]')).to_be_visible()
    assert_no_token_stored(page)
    assert axe_violations(page) == []
    token = api_token(user, ["notes:read"])
    notes = httpx.get(f"{bff_stack.api_url}/notes", headers={"Authorization": f"Bearer {token}"})
    assert notes.status_code == 200
