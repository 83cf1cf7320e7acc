"""``python -m codetap.daemon``: run the daemon in the foreground (used to detach it)."""

from codetap.daemon import prelaunch

prelaunch.start_early()

from codetap.daemon.control import main

main()
