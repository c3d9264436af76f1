"""``python -m authserver``: the same command line as the ``authserver`` script."""

from authserver.cli import main

main()
