"""`python -m opsconsole` runs the console."""

import sys

from opsconsole.app import main

sys.exit(main())
