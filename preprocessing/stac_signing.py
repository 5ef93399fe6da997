"""Signing asset addresses with short-lived access tokens (Planetary Computer's SAS tokens).

Planetary Computer serves its assets from Azure Blob Storage, readable with a free token
that its token service hands out per collection: a GET on
``https://planetarycomputer.microsoft.com/api/sas/v1/token/<collection>`` answers
``{"msft:expiry": "<ISO time>", "token": "<query string>"}``, and an asset is read at
``<href>?<token>``. Tokens expire (after about an hour), so a :class:`Signer` asks for a new
one when the one it holds expires within :data:`RENEW_MARGIN_S`, and on demand after the
storage refused a read (HTTP 403): a long run keeps going. This is one plain GET, so the
``planetary-computer`` package (and the packages it pulls in) is not needed.

Other STAC APIs serve public assets as they are: no token service, no signing.
"""
import datetime as dt
import time
from typing import Callable, Dict, Optional, Tuple
from urllib.parse import urlparse

from ..common.errors import InputError

PLANETARY_COMPUTER_HOST = "planetarycomputer.microsoft.com"
PLANETARY_COMPUTER_TOKENS = "https://planetarycomputer.microsoft.com/api/sas/v1/token/{collection}"
RENEW_MARGIN_S = 300.0
"""A token expiring within this many seconds is replaced before the next item."""
DEFAULT_LIFETIME_S = 2700.0
"""Lifetime assumed for a token whose answer gives no expiry."""


def default_token_url(api_url: str) -> Optional[str]:
    """The token service of the catalogue at ``api_url``: Planetary Computer's, or None."""
    return PLANETARY_COMPUTER_TOKENS if urlparse(api_url).hostname == PLANETARY_COMPUTER_HOST else None


def http_get_json(url: str, retries: int = 3, backoff: float = 1.0) -> dict:
    """GET ``url`` and decode its JSON, retrying transient errors (429, 5xx) with back-off."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3 import Retry

    from .stac_catalogue import TRANSIENT_STATUS

    adapter = HTTPAdapter(max_retries=Retry(total=retries, connect=1, backoff_factor=backoff,
                                            status_forcelist=TRANSIENT_STATUS))
    try:
        with requests.Session() as session:
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            answer = session.get(url, timeout=(15, 60))
            answer.raise_for_status()
            return answer.json()
    except (requests.RequestException, ValueError) as err:
        raise InputError(f"Cannot get an access token for the assets from {url}: {err}") from err


class Signer:
    """Appends a valid token to asset addresses, renewing it before it expires.

    ``token_url`` is a template with ``{collection}`` (None: addresses are left as they are);
    ``clock`` gives seconds (time.time), ``fetch`` does the GET (both replaceable in tests).
    """

    def __init__(self, token_url: Optional[str], clock: Callable[[], float] = time.time,
                 fetch: Callable[[str], dict] = http_get_json):
        self.token_url = token_url
        self.clock = clock
        self.fetch = fetch
        self.tokens: Dict[str, Tuple[str, float]] = {}
        self.fetched = 0
        """Number of tokens obtained so far."""

    def sign(self, href: str, collection: str) -> str:
        """``href`` with a token of ``collection`` valid for at least RENEW_MARGIN_S seconds."""
        if not self.token_url or not href.lower().startswith(("http://", "https://")):
            return href
        token, expiry = self.tokens.get(collection, ("", 0.0))
        if expiry - self.clock() < RENEW_MARGIN_S:
            token, expiry = self._new_token(collection)
            self.tokens[collection] = token, expiry
        return f"{href}{'&' if '?' in href else '?'}{token}"

    def forget(self, collection: str) -> None:
        """Drop the token of ``collection`` (after the storage refused it)."""
        self.tokens.pop(collection, None)

    def _new_token(self, collection: str) -> Tuple[str, float]:
        url = self.token_url.format(collection=collection)
        answer = self.fetch(url)
        token = answer.get("token") if isinstance(answer, dict) else None
        if not token:
            raise InputError(f"The token service {url} gave no token (answer: {str(answer)[:200]}).")
        self.fetched += 1
        expiry = answer.get("msft:expiry")
        if not expiry:
            return token.lstrip("?"), self.clock() + DEFAULT_LIFETIME_S
        when = dt.datetime.fromisoformat(expiry.replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.timezone.utc)
        return token.lstrip("?"), when.timestamp()
