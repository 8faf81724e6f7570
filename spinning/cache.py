"""Django's Redis cache behind the Redis circuit breaker (spinning/breaker.py).

`REDIS_URL` selects it (settings.CACHES). Each call that talks to Redis goes through the
breaker of that server: while it is open after a connection failure the call raises
`RedisSkipped` at once instead of waiting for a timeout, and the callers' own handling of a
failed cache takes over (the throttles count in the database cache, the timetable reads the
database).
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

from spinning.breaker import breaker_for


class BreakerRedisCacheClient(RedisCacheClient):
    def __init__(self, servers, **options):
        super().__init__(servers, **options)
        self.breaker = breaker_for(servers[0])

    def add(self, key, value, timeout):
        return self.breaker.call(super().add, key, value, timeout)

    def get(self, key, default):
        return self.breaker.call(super().get, key, default)

    def set(self, key, value, timeout):
        return self.breaker.call(super().set, key, value, timeout)

    def touch(self, key, timeout):
        return self.breaker.call(super().touch, key, timeout)

    def delete(self, key):
        return self.breaker.call(super().delete, key)

    def get_many(self, keys):
        return self.breaker.call(super().get_many, keys)

    def has_key(self, key):
        return self.breaker.call(super().has_key, key)

    def incr(self, key, delta):
        return self.breaker.call(super().incr, key, delta)

    def set_many(self, data, timeout):
        return self.breaker.call(super().set_many, data, timeout)

    def delete_many(self, keys):
        return self.breaker.call(super().delete_many, keys)

    def clear(self):
        return self.breaker.call(super().clear)


class BreakerRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = BreakerRedisCacheClient
