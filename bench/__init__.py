"""The benchmark of the operation log: ``python -m bench`` (or ``make bench``); see README.md."""

import os

# The benchmarks run with debug off, where the operation log needs its key: a bench-only one,
# unless one is given (inherited by the servers they start).
os.environ.setdefault("MAMORI_AUDIT_KEY", "bench:bench-only-audit-key-not-for-production")
# Their settings are theirs: not the development .env that `make run` writes.
os.environ.setdefault("MAMORI_ENV_FILE", "")
