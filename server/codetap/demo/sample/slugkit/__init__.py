"""slugkit: URL slugs from titles."""

from slugkit.core import slugify, unique_slug

__all__ = ["slugify", "unique_slug"]
