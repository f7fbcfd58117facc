"""``python -m poskit`` is the ``poskit`` command."""

from poskit.cli import main

main()
