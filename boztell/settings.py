"""Boztell settings, read from the environment.

Two profiles (see DESIGN.md):
- embedded default, no environment: SQLite, in-memory channel layer, media on disk,
  the WhatsApp sandbox, tasks inline;
- production: DATABASE_URL (PostgreSQL, psycopg 3 with its pool), REDIS_URL
  (channels-redis), GS_BUCKET_NAME (GCS via django-storages), WHATSAPP_* for Meta.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEV_SECRET_KEY = "django-insecure-boztell-development-key-do-not-use-in-production"  # noqa: S105

DATABASE_URL = env.str("DATABASE_URL", default="")
PRODUCTION_DATABASE = bool(DATABASE_URL)

DEBUG = env.bool("DEBUG", default=not PRODUCTION_DATABASE)
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is the development key. Set SECRET_KEY in the environment "
        "(or DEBUG=true for local work)."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "boztell.apps.BoztellAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "csp",
    "simple_history",
    "boztell.apps.BoztellConfig",
    "leads",
    "rooms",
    "messaging",
    "inbox",
    "webhooks",
    "replies",
    "hours",
    "campaigns",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "boztell.middleware.refuse_nul_in_query",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Records who made each change to a room or a lead (their admin history pages).
    "simple_history.middleware.HistoryRequestMiddleware",
    "boztell.middleware.LazyMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a login refused for a lockout into the 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = env.str("ROOT_URLCONF", default="boztell.urls")
WSGI_APPLICATION = "boztell.wsgi.application"
ASGI_APPLICATION = "boztell.asgi.application"

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
            ],
        },
    },
]

# --- Database --------------------------------------------------------------
# Under ASGI every request runs in its own thread, so persistent connections
# (CONN_MAX_AGE > 0) pile up until PostgreSQL refuses; psycopg's pool is used
# instead (DESIGN.md, "Serving, measured").
if PRODUCTION_DATABASE:
    _db = env.db_url_config(DATABASE_URL)
    # The pool is psycopg's: a sqlite:// DATABASE_URL gets none.
    if _db["ENGINE"].endswith("postgresql") and env.bool("DATABASE_POOL", default=True):
        _db.setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10),
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
        }
        _db["CONN_MAX_AGE"] = 0
    else:
        _db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    _db["CONN_HEALTH_CHECKS"] = True
    DATABASES = {"default": _db}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(env.str("SQLITE_PATH", default=str(BASE_DIR / "db.sqlite3"))),
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "boztell.User"
# django-axes' backend comes first: it refuses a locked-out login before any password check.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "boztell.auth_backends.RoleBackend",
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/inbox/"
LOGOUT_REDIRECT_URL = "/login/"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Jakarta")
# Business hours (hours/selectors.py) are read in this zone, whatever TIME_ZONE says.
BUSINESS_TIME_ZONE = env.str("BUSINESS_TIME_ZONE", default="Asia/Jakarta")
# The user automatic messages (the away message) are sent as (boztell.services.system_user).
SYSTEM_USERNAME = env.str("SYSTEM_USERNAME", default="system")
USE_I18N = True
USE_TZ = True

# --- Static and media ------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))

GS_BUCKET_NAME = env.str("GS_BUCKET_NAME", default="")
_staticfiles_backend = (
    "boztell.staticfiles.StaticFilesStorage"
    if env.bool("STATIC_MANIFEST", default=not DEBUG)
    else "django.contrib.staticfiles.storage.StaticFilesStorage"
)
if GS_BUCKET_NAME:
    _emulated = bool(env.str("STORAGE_EMULATOR_HOST", default=""))
    STORAGES = {
        "default": {
            "BACKEND": "storages.backends.gcloud.GoogleCloudStorage",
            "OPTIONS": {
                "bucket_name": GS_BUCKET_NAME,
                "project_id": env.str("GS_PROJECT_ID", default=None),
                # The emulator cannot sign URLs; media goes through our own
                # authorised download view either way.
                "querystring_auth": env.bool("GS_QUERYSTRING_AUTH", default=not _emulated),
                "file_overwrite": False,
                "location": env.str("GS_LOCATION", default=""),
            },
        },
        "staticfiles": {"BACKEND": _staticfiles_backend},
    }
else:
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": _staticfiles_backend},
    }

# --- Channels --------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Our own keys in Redis (the campaigns' shared send-rate buckets) start with this.
REDIS_KEY_PREFIX = env.str(
    "REDIS_KEY_PREFIX", default=env.str("CHANNEL_LAYER_PREFIX", default="boztell")
)
if REDIS_URL:
    # Redis pub/sub by default: a group send is one PUBLISH whatever the group's size, and
    # each process fans out to its own sockets. The core layer pushes a copy per member
    # (200 agent sockets: 200 writes per event) and was the largest cost per webhook
    # (bench/webhook.py, bench/events.py). CHANNEL_LAYER=core selects it.
    # CHANNEL_LAYER=pubsub-plain: channels-redis's pub/sub layer without our pipelined
    # group_send_many (boztell/layers.py), for comparing the two (bench/events.py --layers).
    _layer = env.str("CHANNEL_LAYER", default="pubsub")
    _core_layer = _layer == "core"
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": {
                "core": "channels_redis.core.RedisChannelLayer",
                "pubsub-plain": "channels_redis.pubsub.RedisPubSubChannelLayer",
            }.get(_layer, "boztell.layers.PubSubChannelLayer"),
            "CONFIG": {
                # redis-py refuses (rather than waits) past its pool's limit, so the limit
                # must cover a burst of sockets connecting at once (200 agents after a
                # deploy): measured with bench/events.py.
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "max_connections": env.int("REDIS_MAX_CONNECTIONS", default=1000),
                    }
                ],
                "prefix": env.str("CHANNEL_LAYER_PREFIX", default="boztell"),
                **(
                    {"capacity": env.int("CHANNEL_LAYER_CAPACITY", default=5000), "expiry": 60}
                    if _core_layer
                    else {}
                ),
            },
        }
    }
else:
    # Channels' in-memory layer, made safe for the publisher thread's sends.
    CHANNEL_LAYERS = {"default": {"BACKEND": "boztell.layers.InMemoryChannelLayer"}}

# --- Background tasks ------------------------------------------------------
# Embedded default runs tasks inline; production queues them in PostgreSQL and
# `manage.py db_worker` runs them.
TASKS = {
    "default": {
        "BACKEND": env.str(
            "TASKS_BACKEND",
            default=(
                "django_tasks_db.DatabaseBackend"
                if PRODUCTION_DATABASE
                else "django_tasks.backends.immediate.ImmediateBackend"
            ),
        )
    }
}

# --- REST API --------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "boztell.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "boztell.schema.BoztellAutoSchema",
    "EXCEPTION_HANDLER": "boztell.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Boztell API",
    "DESCRIPTION": "WhatsApp team inbox: messages, rooms, leads and templates.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs page's assets are served from here, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No badge from swagger.io's validator: it would send the schema's URL to a third party
    # (and the CSP refuses its image anyway).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
}

# --- Phone numbers --------------------------------------------------------
# The region a number typed without '+' is read in (ISO 3166 alpha-2; libphonenumber).
PHONE_DEFAULT_REGION = env.str("PHONE_DEFAULT_REGION", default="ID").upper()

# --- WhatsApp Cloud API ----------------------------------------------------
# With no WHATSAPP_ACCESS_TOKEN the sandbox stands in for Meta.
WHATSAPP_ACCESS_TOKEN = env.str("WHATSAPP_ACCESS_TOKEN", default="")
WHATSAPP_PHONE_NUMBER_ID = env.str("WHATSAPP_PHONE_NUMBER_ID", default="100000000000001")
WHATSAPP_BUSINESS_ACCOUNT_ID = env.str("WHATSAPP_BUSINESS_ACCOUNT_ID", default="")
WHATSAPP_APP_SECRET = env.str("WHATSAPP_APP_SECRET", default="boztell-sandbox-app-secret")
WHATSAPP_VERIFY_TOKEN = env.str("WHATSAPP_VERIFY_TOKEN", default="boztell-sandbox-verify-token")
WHATSAPP_API_BASE_URL = env.str("WHATSAPP_API_BASE_URL", default="https://graph.facebook.com")
WHATSAPP_API_VERSION = env.str("WHATSAPP_API_VERSION", default="v21.0")
# The WhatsApp backend (as Django's EMAIL_BACKEND): Meta's Graph API, or with no access
# token the sandbox, which answers sends itself and plays statuses back as webhooks.
WHATSAPP_BACKEND = env.str(
    "WHATSAPP_BACKEND",
    default=(
        "messaging.whatsapp.GraphClient"
        if WHATSAPP_ACCESS_TOKEN
        else "webhooks.sandbox.SandboxClient"
    ),
)
# Seconds before the sandbox plays back `sent`, `delivered`, `read` (empty: no playback).
WHATSAPP_SANDBOX_STATUS_DELAYS = env.list("WHATSAPP_SANDBOX_STATUS_DELAYS", default=["1", "2", "4"])
# A template send whose name/language is not in the local table fetches the templates
# from Meta first, at most once per this many seconds (across processes).
TEMPLATE_REFRESH_SECONDS = env.int("TEMPLATE_REFRESH_SECONDS", default=60)
# Queued webhooks: the view stores the verified body and answers; `manage.py
# webhook_worker` turns bodies into messages in batches (the throughput set-up, see
# README). Off: the view stores the messages themselves before it answers.
WEBHOOK_QUEUE = env.bool("WEBHOOK_QUEUE", default=False)
# `manage.py events_prune` keeps this many hours of the event log (GET /events catch-up);
# a client away longer reloads its rooms instead.
EVENTS_KEEP_HOURS = env.int("EVENTS_KEEP_HOURS", default=72)
if not DEBUG and WHATSAPP_ACCESS_TOKEN and WHATSAPP_APP_SECRET == "boztell-sandbox-app-secret":  # noqa: S105
    raise ImproperlyConfigured("WHATSAPP_APP_SECRET must be set when WHATSAPP_ACCESS_TOKEN is.")

# --- Campaigns -------------------------------------------------------------
# Sends per second per business number (Meta's default throughput is 80/s).
CAMPAIGN_RATE_PER_SECOND = env.float("CAMPAIGN_RATE_PER_SECOND", default=80.0)
# Per business number (phone_number_id=rate,...), over the default above.
CAMPAIGN_RATES = {k: float(v) for k, v in env.dict("CAMPAIGN_RATES", default={}).items()}
# Meta's pair rate: at most one message to the same customer in this many seconds.
CAMPAIGN_PAIR_RATE_SECONDS = env.float("CAMPAIGN_PAIR_RATE_SECONDS", default=6.0)
# Graph calls in flight at once per worker (Meta answers in ~0.1-0.5 s).
CAMPAIGN_CONCURRENCY = env.int("CAMPAIGN_CONCURRENCY", default=32)
# A customer message this long after a campaign message counts as its reply.
CAMPAIGN_REPLY_WINDOW_HOURS = env.float("CAMPAIGN_REPLY_WINDOW_HOURS", default=72.0)
# Meta's price per delivered template message by pricing category, in IDR (Indonesia's
# rate card; CAMPAIGN_PRICES_IDR=MARKETING=586.33,UTILITY=356.65,...).
CAMPAIGN_PRICES_IDR = {
    "MARKETING": 586.33,
    "UTILITY": 356.65,
    "AUTHENTICATION": 356.65,
    **{k.upper(): float(v) for k, v in env.dict("CAMPAIGN_PRICES_IDR", default={}).items()},
}
# A reply that is one of these words (any case), or a tap on a quick-reply button whose
# payload is CAMPAIGN_OPT_OUT_PAYLOAD, opts the customer out of marketing campaigns.
CAMPAIGN_OPT_OUT_KEYWORDS = env.list(
    "CAMPAIGN_OPT_OUT_KEYWORDS", default=["STOP", "BERHENTI", "UNSUBSCRIBE", "STOP PROMO"]
)
CAMPAIGN_OPT_OUT_PAYLOAD = env.str("CAMPAIGN_OPT_OUT_PAYLOAD", default="OPT_OUT")
CAMPAIGN_OPT_OUT_CONFIRMATION = env.str(
    "CAMPAIGN_OPT_OUT_CONFIRMATION",
    default="Baik, Anda tidak akan menerima pesan promosi dari kami lagi.",
)
# Utility campaigns (reminders) also skip opted-out customers when true.
CAMPAIGN_OPT_OUT_APPLIES_TO_UTILITY = env.bool("CAMPAIGN_OPT_OUT_APPLIES_TO_UTILITY", default=False)

# --- Security --------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

if not DEBUG:
    # The reverse proxy terminates TLS and says so in X-Forwarded-Proto (deploy/nginx.conf).
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # The load balancer's health check calls plain HTTP on the internal address.
    SECURE_REDIRECT_EXEMPT = [r"^health$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

# Content-Security-Policy on every response (django-csp). Scripts and styles come from our
# own origin, or carry the per-request nonce (`{{ request.csp_nonce }}`); nothing inline
# runs otherwise. 'self' in connect-src also covers ws:/wss: to this host (CSP Level 3).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:", "blob:"],
        "media-src": [SELF, "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Login throttling (django-axes): after AXES_FAILURE_LIMIT failed logins from one address,
# or for one username, further logins from it / for it are refused for AXES_COOLOFF_MINUTES
# with a 429 page, on /login/ and /admin/login/. A supervisor unlocks from admin
# (Axes > Access attempts: delete the rows). Token clients never authenticate by password.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_LOCKOUT_CALLABLE = "boztell.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "boztell.security.client_ip"
# Proxies in front of Django that append to X-Forwarded-For (nginx: 1). 0 trusts no header:
# the address is the socket's, which a client cannot forge.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Meta sends batches of up to 1,000 updates; the webhook accepts bodies up to 3 MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=3 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Logging ---------------------------------------------------------------
LOG_DIR = Path(env.str("LOG_DIR", default=str(BASE_DIR / "logs")))
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
Path(LOG_DIR).mkdir(parents=True, exist_ok=True)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "line": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "line"},
        "file": {
            "class": "logging.handlers.RotatingFileHandler",
            "filename": str(Path(LOG_DIR) / "app.log"),
            "maxBytes": env.int("LOG_MAX_BYTES", default=10 * 1024 * 1024),
            "backupCount": env.int("LOG_BACKUP_COUNT", default=5),
            "formatter": "line",
            "encoding": "utf-8",
            "delay": True,
        },
    },
    "root": {"handlers": ["console", "file"], "level": "WARNING"},
    "loggers": {
        "django": {"handlers": ["console", "file"], "level": "WARNING", "propagate": False},
        "boztell": {"handlers": ["console", "file"], "level": LOG_LEVEL, "propagate": False},
    },
}

# --- Lead imports ------------------------------------------------------------
# The largest spreadsheet accepted by POST /leads/import and the admin's upload.
LEADS_IMPORT_MAX_BYTES = env.int("LEADS_IMPORT_MAX_BYTES", default=50 * 1024 * 1024)
