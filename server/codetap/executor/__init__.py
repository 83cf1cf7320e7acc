"""Where tasks run (ARCHITECTURE.md "Scale-out"): in the runtime worker (default) or on a
Ray cluster; see :mod:`codetap.executor.base`."""
