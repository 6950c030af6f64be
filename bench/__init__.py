"""The benchmark of the operation log: ``python -m bench`` (or ``make bench``); see README.md."""
