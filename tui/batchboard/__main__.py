"""`python -m batchboard` runs the same CLI as the `batchboard` console script."""

from batchboard.cli import main

raise SystemExit(main())
