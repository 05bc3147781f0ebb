"""``python -m trustml`` runs the command line."""

import sys

from trustml.cli import main

sys.exit(main())
