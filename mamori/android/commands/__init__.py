"""Device commands (Android Enterprise 2 of 3): one class per command (``definitions``), their
writes (``services``), reads (``selectors``), lifecycle (``lifecycle``: ``operation_apply``),
sending (``sending``) and durable work (``work``), their pages (``views``) and API (``api``).

Import its modules from ``AppConfig.ready()`` or later: they load models.
"""
