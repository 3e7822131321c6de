"""``python -m rig``: the same as the ``rig`` console script."""

from rig.cli import main

raise SystemExit(main())
