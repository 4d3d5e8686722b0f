"""The cache on Redis (``REDIS_URL``), failing open: while Redis is down or unreachable, a
read finds nothing and a write stores nothing (one warning per minute in the log), so the
pages and APIs that use the cache keep serving, only without it.

What must not fail open uses another alias: the request limits count in the database while
their Redis store is down (``crm.ratelimit``)."""

from __future__ import annotations

import functools
import logging

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from redis.exceptions import ConnectionError, TimeoutError

from crm.logs import warn_now_and_then

logger = logging.getLogger(__name__)

# What a Redis that is down or unreachable raises (redis-py's own classes).
UNAVAILABLE = (ConnectionError, TimeoutError)


def _fail_open(miss):
    """Run the cache call; while Redis is unavailable, answer ``miss(args, kwargs)``."""

    def wrap(method):
        @functools.wraps(method)
        def call(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except UNAVAILABLE as exc:
                warn_now_and_then(
                    logger, "The Redis cache is unavailable (%s); serving without it.", exc
                )
                return miss(args, kwargs)

        return call

    return wrap


def _default(args, kwargs):
    return kwargs.get("default", args[1] if len(args) > 1 else None)


def _nothing(args, kwargs):
    return None


class RedisCache(DjangoRedisCache):
    get = _fail_open(_default)(DjangoRedisCache.get)
    get_many = _fail_open(lambda args, kwargs: {})(DjangoRedisCache.get_many)
    has_key = _fail_open(lambda args, kwargs: False)(DjangoRedisCache.has_key)
    add = _fail_open(lambda args, kwargs: False)(DjangoRedisCache.add)
    set = _fail_open(_nothing)(DjangoRedisCache.set)
    set_many = _fail_open(lambda args, kwargs: [])(DjangoRedisCache.set_many)
    touch = _fail_open(lambda args, kwargs: False)(DjangoRedisCache.touch)
    delete = _fail_open(lambda args, kwargs: False)(DjangoRedisCache.delete)
    delete_many = _fail_open(_nothing)(DjangoRedisCache.delete_many)
    clear = _fail_open(lambda args, kwargs: False)(DjangoRedisCache.clear)
