"""pkgwatch: report the latest versions of Python packages from a JSON API."""
__version__ = "0.2.0"
