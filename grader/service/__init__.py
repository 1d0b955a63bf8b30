"""The LMS webhook service: signed submissions in, signed grades and LTI AGS scores out."""

from __future__ import annotations

import gc
import logging

import uvicorn

from grader.errors import GraderError
from grader.service.app import create_app
from grader.service.runtime import check_database
from grader.service.settings import ServiceSettings, load_settings

__all__ = ["ServiceSettings", "create_app", "load_settings", "serve"]

_UVICORN_STARTUP_FAILURE = 3


def serve(settings: ServiceSettings) -> None:
    """Run the service under uvicorn until interrupted (one process: the workers live in it).

    Raises DatabaseInUse or DatabaseUnusable before listening when the database cannot be owned,
    and GraderError when the server could not start (a port in use: uvicorn logged why).
    """
    check_database(settings.database)
    # uvicorn configures only its own loggers; the service's (recovery, delivery retries) go here.
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = create_app(settings)
    # The modules and settings loaded so far live as long as the process: keep them out of the
    # collector's full passes, which otherwise stop every thread (the event loop too) for ~60 ms.
    gc.freeze()
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            timeout_graceful_shutdown=5,
        )
    except SystemExit as stopped:
        # uvicorn's own exit code 3 would say nothing to a user who reads `grade --help`.
        if stopped.code == _UVICORN_STARTUP_FAILURE:
            raise GraderError(f"the service could not start on {settings.host}:{settings.port}; "
                              "uvicorn's error above says why") from None
        raise
