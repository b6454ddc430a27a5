"""``python -m hookport``: the same as the ``hookport`` command."""

from hookport.cli import main

main()
