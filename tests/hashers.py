from mamori.accounts.hashers import MamoriArgon2PasswordHasher


class CheapArgon2PasswordHasher(MamoriArgon2PasswordHasher):
    """Argon2id with tiny parameters: the same code path, a fraction of a millisecond."""

    time_cost = 1
    memory_cost = 64
    parallelism = 1
