"""The LMS webhook service: signed submissions in, signed grades and LTI AGS scores out."""

from __future__ import annotations

import logging

import uvicorn

from grader.service.app import create_app
from grader.service.runtime import check_database
from grader.service.settings import ServiceSettings, load_settings

__all__ = ["ServiceSettings", "create_app", "load_settings", "serve"]


def serve(settings: ServiceSettings) -> None:
    """Run the service under uvicorn until interrupted (one process: the workers live in it).

    Raises DatabaseInUse or DatabaseUnusable before listening when the database cannot be owned.
    """
    check_database(settings.database)
    # uvicorn configures only its own loggers; the service's (recovery, delivery retries) go here.
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=5,
    )
