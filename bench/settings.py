"""The app's settings, plus the yardstick URLs of bench/yardstick.py (benchmark server only)."""

from crm.settings import *  # noqa: F403

ROOT_URLCONF = "bench.yardstick"
