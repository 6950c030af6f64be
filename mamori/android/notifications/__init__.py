"""Device notifications: AMAPI's Pub/Sub push, stored once and applied in batches.

``views`` (the push endpoint on the public door) → ``verify`` (Google's OIDC token) → ``store``
(one statement: the inbox row, and the nudge) → ``apply`` (the worker: batches, per device
through ``devices``, usage logs through ``usage``, commands through
``commands.lifecycle.operation_apply``) ; ``reconcile`` repairs what lost notifications left
wrong; ``work`` registers the work and periodic jobs; ``stats`` counts the inbox for
``mamori pubsub stats``. Issue 9, ANDROID.md 3 and 7.

Nothing is imported here: the logging configuration loads ``logs`` before the apps.
"""
