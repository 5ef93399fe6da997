"""Dates typed by a user (parameters, dialogs), as opposed to dates read from file names
(:func:`common.products.date_from_filename`)."""
import datetime as _dt
from typing import Optional

from .errors import InputError


def parse_user_date(text: str, name: str) -> Optional[_dt.date]:
    """An ISO date (YYYY-MM-DD) given by the user, None when empty; InputError naming ``name`` if malformed."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return _dt.date.fromisoformat(text[:10])
    except ValueError as err:
        raise InputError(f"{name}: '{text}' is not a date; write it as YYYY-MM-DD.") from err
