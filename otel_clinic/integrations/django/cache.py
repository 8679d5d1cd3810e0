"""Cache hit/miss counters for Django's cache backends (``clinic.cache.hits`` / ``clinic.cache.misses``).

Django has no cache signals, so ``get``/``get_many`` of the stock backends are wrapped (reversibly). The
alias comes from the cache handler; keys are never recorded.
"""

from __future__ import annotations

import contextvars
import importlib
from typing import Any

from otel_clinic.instruments import get_instruments

_BACKENDS = (
    ("django.core.cache.backends.locmem", "LocMemCache"),
    ("django.core.cache.backends.redis", "RedisCache"),
    ("django.core.cache.backends.db", "DatabaseCache"),
    ("django.core.cache.backends.filebased", "FileBasedCache"),
    ("django.core.cache.backends.memcached", "BaseMemcachedCache"),
    ("django.core.cache.backends.dummy", "DummyCache"),
)
_MISSING = object()
# Some backends implement get() through get_many() (DatabaseCache): count only the outermost call.
_counting: contextvars.ContextVar[bool] = contextvars.ContextVar("otel_clinic_cache_counting", default=False)
_originals: list[tuple[type, str, Any]] = []


def _alias(cache: Any) -> str:
    return getattr(cache, "_otel_clinic_alias", "default")


def _count(cache: Any, hits: int, misses: int) -> None:
    try:
        attrs = {"cache.alias": _alias(cache)}
        instruments = get_instruments()
        if hits:
            instruments.cache_hits.add(hits, attrs)
        if misses:
            instruments.cache_misses.add(misses, attrs)
    except Exception:
        pass


def _wrap_get(original):
    def get(self, key, default=None, version=None):
        if _counting.get():
            return original(self, key, default, version=version)
        token = _counting.set(True)
        try:
            value = original(self, key, _MISSING, version=version)
        finally:
            _counting.reset(token)
        if value is _MISSING:
            _count(self, 0, 1)
            return default
        _count(self, 1, 0)
        return value

    get.__wrapped__ = original
    return get


def _wrap_get_many(original):
    def get_many(self, keys, version=None):
        if _counting.get():
            return original(self, keys, version=version)
        keys = list(keys)
        token = _counting.set(True)
        try:
            found = original(self, keys, version=version)
        finally:
            _counting.reset(token)
        _count(self, len(found), max(len(keys) - len(found), 0))
        return found

    get_many.__wrapped__ = original
    return get_many


def _wrap_create_connection(original):
    def create_connection(self, alias):
        backend = original(self, alias)
        try:
            backend._otel_clinic_alias = alias
        except Exception:
            pass
        return backend

    create_connection.__wrapped__ = original
    return create_connection


def install() -> None:
    from django.core.cache import CacheHandler

    uninstall()
    for module_name, class_name in _BACKENDS:
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except Exception:  # optional backend dependencies missing
            continue
        for name, wrapper in (("get", _wrap_get), ("get_many", _wrap_get_many)):
            if name in cls.__dict__:
                original = cls.__dict__[name]
                _originals.append((cls, name, original))
                setattr(cls, name, wrapper(original))
    original = CacheHandler.__dict__["create_connection"]
    _originals.append((CacheHandler, "create_connection", original))
    CacheHandler.create_connection = _wrap_create_connection(original)


def uninstall() -> None:
    while _originals:
        cls, name, original = _originals.pop()
        setattr(cls, name, original)
