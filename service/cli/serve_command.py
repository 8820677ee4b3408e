"""``clickbait serve``: the HTTP service under uvicorn, settings from CLICKBAIT_* or the generated flags."""

from __future__ import annotations

import argparse
import logging

from classifier.flags import add_flags, given
from service.settings import ServiceSettings


def _serve(args: argparse.Namespace) -> None:
    from service.runtime.memory import cap_malloc_arenas, map_large_blocks

    settings = ServiceSettings(**given(args, args.flags))
    cap_malloc_arenas(settings.malloc_arenas)  # before the imports and threads that open heaps
    map_large_blocks(settings.malloc_mmap_kb)
    # every logger at the chosen level, not only uvicorn's, before importing modules that log as they load
    logging.getLogger().setLevel(settings.log_level.upper())
    import uvicorn

    from service.api.app import create_app
    from service.api.guards import header_deadline_protocol

    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=30,
        http=header_deadline_protocol(settings.header_timeout_s),
        limit_concurrency=settings.limit_concurrency,
        timeout_keep_alive=5,
    )
    uvicorn.Server(config).run()


def add_serve(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser("serve", help="run the HTTP service (settings: CLICKBAIT_* or flags)")
    serve.set_defaults(handler=_serve, flags=add_flags(serve, ServiceSettings))
