"""``python -m service.cli`` (and ``torchrun -m service.cli train``): the ``clickbait`` command."""

import sys

from service.cli.main import main

sys.exit(main())
