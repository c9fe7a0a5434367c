"""Entry point frozen by PyInstaller: the same `main` as the `opsconsole` console script."""

import sys

from opsconsole.app import main

if __name__ == "__main__":
    sys.exit(main())
