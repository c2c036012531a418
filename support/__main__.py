"""``python -m support`` is the ``paper-repro`` command."""

from support.cli import main

raise SystemExit(main())
