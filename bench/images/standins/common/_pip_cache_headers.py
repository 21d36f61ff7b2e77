"""Stand-in images only (bench/images/README.md): make pip's HTTP cache behave as on real machines.

The network path to PyPI on the benchmark machines drops the Cache-Control/ETag/Expires headers
the index really sends, so pip (through cachecontrol) never stores downloads in ~/.cache/pip/http
and `pip install` without `--no-cache-dir` leaves no cache behind. This hook restores the headers
PyPI sends when, and only when, a response has no Cache-Control header at all:
  index pages (/simple/...):  max-age=600, public
  package files:              max-age=365000000, immutable, public
It is loaded from a .pth file and patches pip's vendored cachecontrol when pip imports it, so it
also survives `pip install --upgrade pip`.
"""
import importlib.abc
import sys
import weakref

_TARGET = "pip._vendor.cachecontrol.controller"


def _patch(module):
    controller = getattr(module, "CacheController", None)
    if controller is None or getattr(controller, "_standin_patched", False):
        return
    original = controller.cache_response

    def cache_response(self, request, response, *args, **kwargs):
        try:
            # newer cachecontrol passes a weakref to the response for streamed bodies
            resp = response() if isinstance(response, weakref.ref) else response
            headers = resp.headers
            if int(getattr(resp, "status", 0)) == 200 and "cache-control" not in headers:
                url = getattr(request, "url", "") or ""
                if "/simple/" in url:
                    headers["Cache-Control"] = "max-age=600, public"
                else:
                    headers["Cache-Control"] = "max-age=365000000, immutable, public"
                if "date" not in headers:
                    from email.utils import formatdate
                    headers["Date"] = formatdate(usegmt=True)
        except Exception:  # never break pip over a cache heuristic
            pass
        return original(self, request, response, *args, **kwargs)

    controller.cache_response = cache_response
    controller._standin_patched = True


class _Loader(importlib.abc.Loader):
    def __init__(self, inner):
        self._inner = inner

    def create_module(self, spec):
        return self._inner.create_module(spec)

    def exec_module(self, module):
        self._inner.exec_module(module)
        _patch(module)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != _TARGET:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _Loader(spec.loader)
                return spec
        return None


if not any(isinstance(f, _Finder) for f in sys.meta_path):
    sys.meta_path.insert(0, _Finder())
