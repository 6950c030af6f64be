"""Forms of Mamori accounts: ``auth`` (login, passwords, tokens), ``two_factor``, ``administration``."""
