"""Settings, read from the environment.

DATABASE_URL   absent: a SQLite file (var/db.sqlite3) with IMMEDIATE transactions.
SECRET_KEY     required when DEBUG is off (a dev key is used when DEBUG is on).
DEBUG          "1"/"true" to enable; off by default (`make run` turns it on).
ALLOWED_HOSTS  comma separated; default "localhost,127.0.0.1" (plus "testserver" for tests).
Accounts, throttles and the shared cache: see the "Accounts and throttles" block below and README.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

from spinning.db_router import replica_settings

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY") or ""
if not SECRET_KEY:
    if DEBUG or os.environ.get("SPINNING_ALLOW_DEV_SECRET") == "1":
        SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"
    else:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,testserver")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served from here: the docs work offline
    "members_app",
    "packages_app",
    "bookings_app",
    "reports_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # First among the rest: answers every CORS preflight itself (no studio header needed).
    "corsheaders.middleware.CorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "spinning.middleware.RequestInputMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Accept-Language picks the language of human texts (API.md, DOMAIN.md 16); `code`s never change.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "spinning.middleware.StudioTimezoneMiddleware",
    # The admin in the language the staff user chose (User.language), whatever the browser says.
    "spinning.middleware.AdminLanguageMiddleware",
    "spinning.middleware.ApiErrorMiddleware",
]

ROOT_URLCONF = "spinning.urls"
WSGI_APPLICATION = "spinning.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "reports_app.context_processors.reports_link",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
_database_url = os.environ.get("DATABASE_URL", "").strip()
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60, conn_health_checks=True)}
else:
    (BASE_DIR / "var").mkdir(exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "var" / "db.sqlite3")),
            "OPTIONS": {
                # Writers take the write lock at BEGIN and wait for each other (up to `timeout`
                # seconds) instead of failing half-way with "database is locked".
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            "TEST": {"NAME": os.environ.get("SQLITE_TEST_PATH") or None},
        }
    }

DB_VENDOR_IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
if DB_VENDOR_IS_POSTGRES:
    # A booking that meets a row held by another transaction waits at most this long, then
    # answers 409 `busy` instead of hanging (spinning.errors maps LockNotAvailable).
    LOCK_TIMEOUT_MS = int(os.environ.get("LOCK_TIMEOUT_MS", "3000"))
    STATEMENT_TIMEOUT_MS = int(os.environ.get("STATEMENT_TIMEOUT_MS", "30000"))
    if os.environ.get("PGBOUNCER") == "1":
        # Behind PgBouncer in transaction mode (docs/SCALING.md): no `options` startup parameter
        # (PgBouncer refuses it, or drops it silently), so the timeouts must be set on the
        # server side (`ALTER ROLE ... SET lock_timeout`); no server-side cursors. psycopg's
        # prepared statements are already off (Django passes prepare_threshold=None).
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    else:
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
            f"-c lock_timeout={LOCK_TIMEOUT_MS} -c statement_timeout={STATEMENT_TIMEOUT_MS}"
        )
        if os.environ.get("DATABASE_PREPARED", "1") == "1":
            # Parameters bound by the server and a statement prepared once it has run twice on a
            # connection (psycopg's prepare_threshold): PostgreSQL then skips parsing and planning
            # of the hot paths' statements, most of their server time (docs/PERFORMANCE.md). Not
            # behind PgBouncer 1.18 in transaction mode, which cannot keep prepared statements.
            DATABASES["default"]["OPTIONS"].update(server_side_binding=True, prepare_threshold=2)

# A streaming read replica for reads that may lag (the reports), only when DATABASE_REPLICA_URL
# is set: spinning/db_router.py, docs/SCALING.md.
DATABASES, DATABASE_ROUTERS = replica_settings(DATABASES, os.environ)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "members_app.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if env_bool("FAST_PASSWORD_HASHER"):
    # Tests and the benchmark's seed: hashing cost is not what they measure.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LANGUAGE_CODE = "en"
# DOMAIN.md 16: English and Turkish. Our catalog: locale/tr/LC_MESSAGES/django.po, compiled by
# `make venv`/`make run`/`make test` and by the test run itself (never committed as .mo).
LANGUAGES = [("en", "English"), ("tr", "Türkçe")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Security (an API behind a TLS-terminating proxy) ------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)  # the proxy redirects
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
SILENCED_SYSTEM_CHECKS = [
    # TLS is terminated by the proxy in front of gunicorn, which also redirects http -> https.
    "security.W008",
    # HSTS preload is a deliberate, separate decision for each deployment's domain.
    "security.W021",
]

# --- CORS (API.md conventions: browsers on the listed origins may call the API) ---------------
# CORS_ALLOWED_ORIGINS: comma separated, scheme and host (`https://app.example.com`); empty by
# default, so no other origin's page can read an answer. Bearer tokens, not cookies: no
# credentials. A preflight (OPTIONS) is answered by the middleware before tenancy or auth.
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", "")
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = ("accept", "accept-language", "authorization", "content-type", "idempotency-key", "x-organization")
CORS_EXPOSE_HEADERS = ("retry-after",)
CORS_PREFLIGHT_MAX_AGE = 3600

# --- REST framework ----------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "spinning.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": (
        ["rest_framework.renderers.JSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"]
    ),
    # JSON only (API.md conventions): depth-bounded, NUL-refusing; anything else is 415.
    "DEFAULT_PARSER_CLASSES": ["spinning.parsers.JsonOnlyParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "spinning.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "spinning.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "spinning.schema.SpinningAutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "login_failures": os.environ.get("THROTTLE_LOGIN_FAILURES", "10/min"),
        "registration": os.environ.get("THROTTLE_REGISTRATION", "20/hour"),
        "password_reset": os.environ.get("THROTTLE_PASSWORD_RESET", "5/hour"),
        "coupon_lookup": os.environ.get("THROTTLE_COUPON_LOOKUP", "20/min"),
    },
    # How many proxies in front of gunicorn append to X-Forwarded-For. 0 (the default): the
    # client is REMOTE_ADDR and X-Forwarded-For is ignored, so a spoofed header buys nothing.
    # N: the N-th address from the right of X-Forwarded-For (DRF's NUM_PROXIES semantics).
    "NUM_PROXIES": int(os.environ.get("NUM_PROXIES", "0")),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Spinning studio API",
    "DESCRIPTION": "Packages, coupons, credits and bookings for indoor-cycling studios. "
    "Send `X-Organization: <slug>` to pick the studio; authenticate with `Authorization: Bearer <token>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # 3.1: nullable fields are `type: [..., "null"]`, which both generators (docs/api-clients.md) read.
    "OAS_VERSION": "3.1.0",
    "SERVERS": [{"url": "/", "description": "The host that serves this schema"}],
    "LICENSE": {"name": "Proprietary"},
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One scheme, Bearer (spinning.auth.BearerTokenScheme); the admin's session cookie also works
    # on the browsable API, but clients are not meant to use it.
    "AUTHENTICATION_WHITELIST": ["spinning.auth.BearerTokenAuthentication"],
    "SECURITY": [],
    # spinning.schema: error responses per operation, paths without the trailing slash, uuid ids.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "spinning.schema.postprocess",
    ],
    # Stable names for the choice sets that share a field name (status, type, payment_method);
    # without them the schema gets hashed names (Status463Enum) and `check --deploy` warns (W001).
    "ENUM_NAME_OVERRIDES": {
        "MemberStatusEnum": "members_app.models.Member.Status",
        "CreditTransactionTypeEnum": "members_app.models.CreditTransaction.Type",
        "PackageTypeEnum": "packages_app.models.Package.Type",
        "RedemptionStatusEnum": "packages_app.models.Redemption.Status",
        "RedemptionPaymentMethodEnum": "packages_app.models.Redemption.PaymentMethod",
        "SeatTypeEnum": "bookings_app.models.Seat.Type",
        "SessionStatusEnum": "bookings_app.models.Session.Status",
        "BookingStatusEnum": "bookings_app.models.Booking.Status",
    },
}

# --- Accounts and throttles (DOMAIN.md 1, API.md "Auth and people", "Operations") -------------
# The throttles count in the default cache, which every server process shares: the database
# (table `spinning_cache`, created by members_app migration 0006) unless REDIS_URL is set.
# MAX_ENTRIES is large so that a flood of new keys (many addresses) never culls live counters.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "spinning_cache",
        "OPTIONS": {"MAX_ENTRIES": int(os.environ.get("CACHE_MAX_ENTRIES", "100000"))},
    }
}
if os.environ.get("REDIS_URL"):
    # Redis fails fast when it is down (a refused or slow connection is an error in under 2 s);
    # the throttles then count in `fallback` (the database cache) and the timetable reads the
    # database (spinning/throttling.py, bookings_app/timetable_cache.py): never a 500.
    # A Redis that fails is skipped by the process for REDIS_BREAKER_SECONDS (spinning/breaker.py).
    CACHES = {
        "default": {
            "BACKEND": "spinning.cache.BreakerRedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        },
        "fallback": CACHES["default"],
    }

# After a connection failure, a process skips that Redis (cache, throttles, the hand-off to the
# broker) for this many seconds instead of waiting for a timeout on every call; 0: never skip.
REDIS_BREAKER_SECONDS = float(os.environ.get("REDIS_BREAKER_SECONDS", "5"))

# The timetable's shared part in the default cache, dropped on the commit of any change
# (bookings_app/timetable_cache.py); entries also expire after TIMETABLE_CACHE_SECONDS. The
# studios' versions stay in the database cache (`fallback` beside Redis).
TIMETABLE_CACHE = os.environ.get("TIMETABLE_CACHE", "1") == "1"
TIMETABLE_CACHE_SECONDS = int(os.environ.get("TIMETABLE_CACHE_SECONDS", "30"))

# Tokens (django-rest-knox): only a SHA-512 digest is stored; a token expires after
# TOKEN_TTL_DAYS without use. Every use pushes the expiry out again, but the row is written at
# most once per TOKEN_REFRESH_SECONDS (so the booking path does not write on every request).
TOKEN_TTL_DAYS = int(os.environ.get("TOKEN_TTL_DAYS", "30"))
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=TOKEN_TTL_DAYS),
    "AUTO_REFRESH": True,
    "MIN_REFRESH_INTERVAL": int(os.environ.get("TOKEN_REFRESH_SECONDS", "3600")),
    "AUTH_HEADER_PREFIX": "Bearer",
}
# The page of the member app that takes `uid` and `token` and asks for the new password.
PASSWORD_RESET_URL = os.environ.get("PASSWORD_RESET_URL", "http://localhost:8000/password-reset")
# Django's reset tokens stop working after this long (and as soon as the password changes).
PASSWORD_RESET_TIMEOUT = int(os.environ.get("PASSWORD_RESET_TIMEOUT", str(60 * 60 * 24)))

# Mail: Django's SMTP settings from the environment; without EMAIL_HOST, to the files of
# MAIL_DIR (`make run`: var/mail, one .log file per batch, so the demo's mails do not bury the
# printed logins), or else to the console.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
elif os.environ.get("MAIL_DIR"):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = os.environ["MAIL_DIR"]
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "noreply@localhost")
# One SMTP conversation never waits longer than this (a slow server delays mail, nothing else).
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))

# --- Notifications and background work (DOMAIN.md 11, 15; docs/NOTIFICATIONS.md) ------------
# Delivery right after the commit that wrote a message: "celery" (a task; the default when
# CELERY_BROKER_URL is set), "thread" (a background thread of this process; the default
# without a broker), "inline" (in the caller, after its commit: the tests), "off" (the sweep
# alone: `manage.py deliver_notifications` or the beat schedule).
NOTIFY_DELIVERY = os.environ.get("NOTIFY_DELIVERY", "")
NOTIFY_MAX_ATTEMPTS = int(os.environ.get("NOTIFY_MAX_ATTEMPTS", "8"))
NOTIFY_RETRY_BASE_SECONDS = int(os.environ.get("NOTIFY_RETRY_BASE_SECONDS", "60"))
# A claim's lease: a sender that died mid-send leaves its row to the sweep after this long.
NOTIFY_LEASE_SECONDS = int(os.environ.get("NOTIFY_LEASE_SECONDS", "600"))
# How often the beat runs the sweep (`deliver_due_notifications`).
NOTIFY_SWEEP_SECONDS = float(os.environ.get("NOTIFY_SWEEP_SECONDS", "60"))
# Where a member opens the app (shown in emails); optional.
MEMBER_APP_URL = os.environ.get("MEMBER_APP_URL", "")

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a worker that dies mid-task leaves it for another
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker that is down must not hold up the request that hands a message off (the sweep
# delivers what the hand-off missed).
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5, "max_retries": 0}
# ... but a worker waits this long for a broker that hangs (spinning/celery.py says why).
CELERY_WORKER_BROKER_SOCKET_TIMEOUT = float(os.environ.get("CELERY_WORKER_BROKER_SOCKET_TIMEOUT", "60"))
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "deliver-due-notifications": {
        "task": "members_app.tasks.deliver_due_notifications",
        "schedule": NOTIFY_SWEEP_SECONDS,
    },
    "send-reminders": {"task": "members_app.tasks.send_reminders", "schedule": 60.0 * 60},
    "expire-packages": {"task": "packages_app.tasks.expire_packages", "schedule": 60.0 * 15},
    "close-sessions": {"task": "bookings_app.tasks.close_sessions", "schedule": 60.0 * 5},
    "check-ledger": {"task": "members_app.tasks.check_ledger", "schedule": 60.0 * 60 * 24},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
