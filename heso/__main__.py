"""``python -m heso``: the ``heso`` command line."""

from heso._cli import main

main()
