"""The product's settings, with the floor's views beside the panel's (``bench/floor_urls.py``).
Nothing else differs: same middleware, templates, database options."""

from mamori.settings import *  # noqa: F403

ROOT_URLCONF = "bench.floor_urls"
