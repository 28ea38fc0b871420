"""The ASGI entry point: the only place that reads os.environ.

python -m serving bff (uvicorn --factory bff.asgi:app, with the limits of serving/)
"""

from __future__ import annotations

import logging
import os

from starlette.applications import Starlette

from bff.app import create_app
from bff.settings import Settings


def app() -> Starlette:
    settings = Settings.from_env(os.environ)
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s %(message)s")
    return create_app(settings)
