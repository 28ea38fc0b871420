from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import api
from api.app import create_app
from api.errors import ApiError, ConfigError, HTTPProblem
from api.settings import Settings
from tests.api.conftest import AUDIENCE

pytestmark = pytest.mark.anyio


def subclasses(cls: type[ApiError]) -> set[type[ApiError]]:
    found = set(cls.__subclasses__())
    return found.union(*(subclasses(sub) for sub in found))


def test_every_api_error_is_declared_in_api_errors() -> None:
    for module in pkgutil.iter_modules(api.__path__):
        if module.name != "asgi":  # the entry point reads os.environ when called, not imported
            importlib.import_module(f"api.{module.name}")
    assert {cls.__module__ for cls in subclasses(ApiError)} == {"api.errors"}


def test_a_config_error_is_no_http_problem_and_has_no_status() -> None:
    assert issubclass(ConfigError, ApiError)
    assert not issubclass(ConfigError, HTTPProblem)
    assert not hasattr(ConfigError, "status")


async def test_a_config_error_raised_while_answering_is_a_500_not_a_client_error(
    tmp_path: Path,
) -> None:
    async def misconfigured(request: Request) -> Response:
        raise ConfigError("API_SOMETHING must be set")

    app = create_app(Settings(public_url=AUDIENCE, var_dir=tmp_path))
    app.router.routes.append(Route("/misconfigured", misconfigured))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=AUDIENCE) as client:
        response = await client.get("/misconfigured")
    assert response.status_code == 500
    assert "API_SOMETHING" not in response.text  # a setting's name is for the operator's log
