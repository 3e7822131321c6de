"""``python -m evrig.rig``: the same as the ``rig`` console script."""

from evrig.rig.cli import main

raise SystemExit(main())
