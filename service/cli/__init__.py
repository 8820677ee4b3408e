"""The ``clickbait`` console script (``service.cli:main``; ``python -m service.cli`` runs the same).

``main.py`` assembles the parser from one module per command group: the training commands in
``training/cli.py``, the service's here (score, feeds and pages, labels and retrain, models, the
extension, serve)."""

from service.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
