"""Model-facing tools (ARCHITECTURE.md "Tool contract").

Each tool lives in its own module; :mod:`codetap.tools.registry` maps tool names to
classes and builds instances for a role's tool subset.
"""
