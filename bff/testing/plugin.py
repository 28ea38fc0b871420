"""The pytest plugin for application teams (entry point `bff`, so installing the package is enough):
real BFF and API processes, users, browser contexts signed in through the real login form, and
access tokens, as fixtures.

Playwright is only touched by the fixtures that need a browser (`signed_in_context`,
`bff_sign_ins`, `api_token`), through pytest-playwright's `browser`: a suite that uses none of
them runs without Playwright installed.

Fixtures (details in each docstring):
    bff_stacks            session   StackPool: `.start(**settings)` → a RunningStack per settings
    bff_stack             session   the RunningStack with the default settings
    short_timeouts_stack  session   the RunningStack with `short_timeouts()` (60 s / 120 s)
    make_user             function  `make_user(role="user", *, stack=None, fresh=False)` → User
    bff_sign_ins          session   SignIns: a signed-in storage state per user, checked live
    signed_in_context     function  `signed_in_context(user, **context_options)` → BrowserContext
    api_token             function  `api_token(user, scopes=None)` → an access token string
    bff_prepare_context   function  applied to each context the kit opens (a hook to override)

Option: `--bff-store=sqlite|redis` (default sqlite; redis starts a throwaway redis-server per
stack).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import pytest

from bff.testing.pool import STORES, RunningStack, StackPool, User, short_timeouts
from bff.testing.signin import SignIns
from bff.users import Role

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext

__all__ = ["RunningStack", "SignIns", "StackPool", "User", "short_timeouts"]


class MakeUser(Protocol):
    def __call__(
        self, role: Role = "user", *, stack: RunningStack | None = None, fresh: bool = False
    ) -> User: ...


class SignedInContext(Protocol):
    def __call__(self, user: User, **context_options: Any) -> BrowserContext: ...


class ApiToken(Protocol):
    def __call__(self, user: User, scopes: Sequence[str] | None = None) -> str: ...


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bff", "the BFF's Playwright kit")
    group.addoption(
        "--bff-store",
        choices=STORES,
        default="sqlite",
        help="the session store of the stacks the bff_* fixtures start (default: sqlite)",
    )


@pytest.fixture(scope="session")
def bff_stacks(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[StackPool]:
    """Stacks (a BFF and an API as real uvicorn processes on free loopback ports, a temporary var
    dir, the store `--bff-store` names) started on demand by `.start(**settings)`, one per
    distinct set of `BFF_*`/`API_*` settings, shared by the whole session and stopped at its
    end. `.start()` with no settings is `bff_stack`."""
    pool = StackPool(
        tmp_path_factory.mktemp("bff-stacks"),
        root=pytestconfig.rootpath,
        store=pytestconfig.getoption("--bff-store"),
    )
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(scope="session")
def bff_stack(bff_stacks: StackPool) -> RunningStack:
    """The stack with the default settings: `bff_url`, `api_url`, `cli(*args)`."""
    return bff_stacks.default


@pytest.fixture(scope="session")
def short_timeouts_stack(bff_stacks: StackPool) -> RunningStack:
    """A stack whose sessions end 60 s after their last use and 120 s after sign-in. For other
    values: `bff_stacks.start(**short_timeouts(idle=…, absolute=…, warning=…))`."""
    return bff_stacks.start(**short_timeouts())


@pytest.fixture
def make_user(bff_stacks: StackPool) -> MakeUser:
    """`make_user(role="user", *, stack=None, fresh=False)` → a User (email, password, role) of
    `stack` (default: `bff_stack`), made with `python -m bff users add`. Without `fresh`, every
    test asking for that role on that stack gets the same user, so its signed-in state is shared
    too (a sign-out is noticed and signed in again); a test that changes the user itself (its
    password, every session) asks for `fresh=True`: a new user, for this call only."""

    def make(
        role: Role = "user", *, stack: RunningStack | None = None, fresh: bool = False
    ) -> User:
        stack = stack or bff_stacks.default
        return stack.add_user(role) if fresh else stack.shared_user(role)

    return make


@pytest.fixture(scope="session")
def bff_sign_ins(browser: Browser) -> SignIns:
    """One sign-in through the login form per user for the whole session: `storage_state(user)`
    (checked live before it is handed out, signed in again when its session has ended),
    `session_cookie(user)`, `api_token(user, scopes)`."""
    return SignIns(browser)


@pytest.fixture
def bff_prepare_context() -> Callable[[BrowserContext], None]:
    """Applied to every context `signed_in_context` opens, before any page: override it (it may
    request other fixtures) to set timeouts or attach watches. Does nothing by default."""

    def prepare(context: BrowserContext) -> None:
        return None

    return prepare


@pytest.fixture
def signed_in_context(
    browser: Browser,
    browser_context_args: dict[str, Any],
    bff_sign_ins: SignIns,
    bff_prepare_context: Callable[[BrowserContext], None],
) -> Iterator[SignedInContext]:
    """`signed_in_context(user, **context_options)` → a new BrowserContext whose `base_url` is
    the user's BFF, with the user's session cookie already in it (signed in through the real
    form, once per session: see `bff_sign_ins`). Each call opens a new context sharing that one
    session; `context_options` go to `browser.new_context` over pytest-playwright's
    `browser_context_args`. Every context it opened is closed when the test ends."""
    opened: list[BrowserContext] = []

    def open_context(user: User, **context_options: Any) -> BrowserContext:
        options = {**browser_context_args, **context_options, "base_url": user.bff_url}
        options["storage_state"] = bff_sign_ins.storage_state(user)
        context = browser.new_context(**options)
        opened.append(context)
        bff_prepare_context(context)
        return context

    yield open_context
    for context in opened:
        context.close()


@pytest.fixture
def api_token(bff_sign_ins: SignIns) -> ApiToken:
    """`api_token(user, scopes=None)` → an access token (a JWT string) for the user's shared
    session, minted by `POST /bff/token` with the session cookie and `X-CSRF: 1`; `scopes`
    narrows it (a scope the session does not hold is refused: KitError). It dies with the
    session: a test that signs the user out revokes it."""
    return bff_sign_ins.api_token
