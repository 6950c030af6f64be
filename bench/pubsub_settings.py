"""The product's settings, with the ceiling's endpoint beside the public door's (``bench/pubsub_urls.py``).
Nothing else differs: same middleware, database options, persistent connections."""

from mamori.settings import *  # noqa: F403

PUBLIC_URLCONF = "bench.pubsub_urls"
