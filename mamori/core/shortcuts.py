from collections.abc import Callable
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404


def scoped_or_404[T](selector: Callable[..., T], *args: Any) -> T:
    """Call a scoped ``*_get`` selector; what it cannot find (or may not show) is a 404."""
    try:
        return selector(*args)
    except ObjectDoesNotExist:
        raise Http404 from None
