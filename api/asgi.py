"""The ASGI entry point: the only place that reads os.environ.

python -m serving api (uvicorn --factory api.asgi:app, with the limits of serving/)
"""

from __future__ import annotations

import logging
import os

from starlette.applications import Starlette

from api.app import create_app
from api.settings import Settings


def app() -> Starlette:
    logging.basicConfig(level="INFO", format="%(levelname)s %(name)s %(message)s")
    return create_app(Settings.from_env(os.environ))
