"""Minimal Django settings for the health tests' app process (a real server in a subprocess).

Connection details come from the environment the test fixture sets: HEALTH_TEST_PG_PORT/_PASSWORD and
HEALTH_TEST_REDIS_URL. OTEL_CLINIC_HEALTH_* env overrides apply on top of OTEL_CLINIC_HEALTH below.
"""

import os

SECRET_KEY = "health-tests-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
INSTALLED_APPS = ["otel_clinic.integrations.django"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "tests.health.app.urls"
USE_TZ = True

REDIS_URL = os.environ.get("HEALTH_TEST_REDIS_URL", "redis://127.0.0.1:1/0")

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "clinic",
        "USER": "clinic",
        "PASSWORD": os.environ.get("HEALTH_TEST_PG_PASSWORD", ""),
        "HOST": "127.0.0.1",
        "PORT": os.environ.get("HEALTH_TEST_PG_PORT", "1"),
        "OPTIONS": {"connect_timeout": 2},
    }
}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}

OTEL_CLINIC_HEALTH = {
    "redis_url": REDIS_URL,
    "broker_url": REDIS_URL,
    "broker_queues": ["celery"],
    "timeout": 1.0,
    "cache_interval": 1.0,
    "token": "health-test-token",
    # CI machines can be short of disk or memory; those thresholds are tested on their own (test_checks_live),
    # here they must not turn an "all ok against live servers" run red.
    "disk_warning": 99.9,
    "disk_critical": 100.0,
    "memory_warning": 99.9,
    "memory_critical": 100.0,
}
