"""Settings of the example clinic. SQLite by default; PostgreSQL through DATABASE_URL; Redis cache via REDIS_URL."""
import os
from pathlib import Path
from urllib.parse import unquote, urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"


def _secret_key() -> str:
    """DJANGO_SECRET_KEY, or the contents of the file named by DJANGO_SECRET_KEY_FILE (a mounted Secret).
    Required outside DEBUG: a known key lets anyone forge sessions and password-reset tokens."""
    key = os.environ.get("DJANGO_SECRET_KEY", "")
    path = os.environ.get("DJANGO_SECRET_KEY_FILE", "")
    if not key and path:
        try:
            key = Path(path).read_text().strip()
        except OSError as exc:
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured(f"DJANGO_SECRET_KEY_FILE={path!r} cannot be read: {exc.strerror}") from None
    if key:
        return key
    if DEBUG:
        return "example-clinic-dev-only-not-secret"  # DJANGO_DEBUG=1 on a developer's machine only
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) must be set unless DJANGO_DEBUG=1; generate one with "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "otel_clinic.integrations.django",
    "clinic",
]
MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "clinic_site.urls"
WSGI_APPLICATION = "clinic_site.wsgi.application"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def _database(url: str | None) -> dict:
    if not url:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ.get("CLINIC_SQLITE_PATH", str(BASE_DIR / "db.sqlite3"))}
    parsed = urlparse(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parsed.path.lstrip("/"),
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "127.0.0.1",
        "PORT": str(parsed.port or 5432),
    }


DATABASES = {"default": _database(os.environ.get("DATABASE_URL"))}
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("CLINIC_CONN_MAX_AGE", "60"))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if os.environ.get("REDIS_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["REDIS_URL"]}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Upstream "lab results" service the external_service endpoint calls (unreachable by default on purpose).
CLINIC_UPSTREAM_URL = os.environ.get("CLINIC_UPSTREAM_URL", "http://127.0.0.1:9/")
CLINIC_RATE_LIMIT_PER_MINUTE = int(os.environ.get("CLINIC_RATE_LIMIT_PER_MINUTE", "1000000"))

OTEL_CLINIC_HEALTH = {
    "checks": ["database", "cache", "disk"] + (["redis"] if os.environ.get("REDIS_URL") else []),
    "redis_url": os.environ.get("REDIS_URL"),
}

# A LOGGING dict like real apps carry. Django applies it during django.setup(), after otel_clinic.setup():
# otel_clinic re-attaches its handlers afterwards anyway; naming ClinicHandler says where our logging goes (the
# OTel log bridge and the JSON stdout lines, rewritten and scrubbed). The console handler writes warnings and
# errors on stderr as scrubbed templates (typed placeholders, never the raw arguments; f-strings and warning texts
# scrubbed as free text; one record per line).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": True,
    "formatters": {
        "template": {"()": "otel_clinic.integrations.logging.ScrubbingFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "template",
                    "level": "WARNING"},
        "otel": {"class": "otel_clinic.integrations.logging.ClinicHandler"},
    },
    "root": {"handlers": ["console", "otel"], "level": os.environ.get("CLINIC_LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"level": "INFO"},
        "django.db.backends": {"level": "WARNING"},
        "clinic": {"level": "INFO"},
    },
}
