"""CSV cells that a spreadsheet opens as text, never as a formula (CSV injection)."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell_protect(value: str) -> str:
    """Prefix an apostrophe to a value a spreadsheet would read as a formula (=, +, -, @ …)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def cell_unprotect(value: str) -> str:
    """Undo ``cell_protect`` when a file comes back: ``'+81 3…`` is the phone number ``+81 3…``."""
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value
