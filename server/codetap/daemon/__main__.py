"""``python -m codetap.daemon``: run the daemon in the foreground (used to detach it)."""

from codetap.daemon.control import main

main()
