"""A small STAC API and COG file server on 127.0.0.1 for the download tests (no internet).

The API answers like Planetary Computer's: a landing page with conformance classes and
``search`` links (GET and POST); item search with ``collections``, ``bbox``, ``datetime``,
``query`` (eq, lt, lte, gt, gte, in) and ``limit``, paged through ``next`` links (a query-string
token for GET, a body token for POST); a token service ``/api/sas/v1/token/<collection>``.
Files are served with HTTP range support; the server counts the body bytes it sent per file,
logs every request, can answer given statuses first (e.g. 503) for some paths, and can
require a valid, unexpired ``sig`` token on file reads (HTTP 403 otherwise).
"""
import collections
import datetime as dt
import http.server
import json
import os
import re
import threading
import time
from typing import Dict, List, Optional
from urllib.parse import parse_qs, urlencode, urlparse

CONFORMANCE = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#query",
]


class StacServer:
    """State of the fake catalogue; ``url`` is its base address once started."""

    def __init__(self):
        self.items: List[dict] = []
        self.files: Dict[str, str] = {}
        """URL path -> local file."""
        self.page_size: Optional[int] = None
        """Largest page the server returns (None: what the client asks)."""
        self.fail: Dict[str, List[int]] = {}
        """URL path prefix -> statuses answered (one per request) before serving normally."""
        self.served = collections.Counter()
        """URL path (without query) -> body bytes sent."""
        self.log: List[tuple] = []
        """(method, path, query, range header) of every request."""
        self.token_ttl: Optional[float] = None
        """Lifetime (s) of issued tokens; None: file reads need no token."""
        self.tokens: Dict[str, float] = {}
        self.conformance: List[str] = list(CONFORMANCE)
        """Conformance classes announced (tests may drop the query extension)."""
        self.lock = threading.Lock()
        self.httpd = None
        self.url = ""

    def start(self) -> "StacServer":
        handler = type("Handler", (_Handler,), {"state": self})
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def reset(self) -> None:
        """Forget counters, failures, tokens and settings between tests (items and files stay)."""
        with self.lock:
            self.served.clear()
            self.log.clear()
            self.fail.clear()
            self.tokens.clear()
            self.page_size = None
            self.token_ttl = None
            self.conformance = list(CONFORMANCE)

    def requests_to(self, prefix: str) -> List[tuple]:
        """Logged requests whose path starts with ``prefix``."""
        return [entry for entry in self.log if entry[1].startswith(prefix)]


class _Handler(http.server.BaseHTTPRequestHandler):
    state: StacServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def do_HEAD(self):  # noqa: N802 (http.server's name)
        self._answer(head=True)

    def do_GET(self):  # noqa: N802
        self._answer()

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self._answer(body=body)

    def _answer(self, head: bool = False, body: Optional[dict] = None):
        url = urlparse(self.path)
        state = self.state
        with state.lock:
            state.log.append((self.command, url.path, url.query, self.headers.get("Range")))
            queued = next((v for k, v in state.fail.items() if url.path.startswith(k) and v), None)
            status = queued.pop(0) if queued else None
        if status:
            return self._send(status, b"", "text/plain")
        if url.path in ("", "/"):
            return self._json(self._landing())
        if url.path == "/search":
            params = body if body is not None else _get_params(url.query)
            return self._json(self._search(params, body is not None))
        if url.path.startswith("/api/sas/v1/token/"):
            return self._json(self._token())
        if url.path in state.files:
            return self._file(state.files[url.path], url, head)
        return self._send(404, b"not found", "text/plain")

    def _landing(self) -> dict:
        base = self.state.url
        return {"type": "Catalog", "id": "test-stac", "stac_version": "1.0.0", "description": "test API",
                "conformsTo": self.state.conformance,
                "links": [{"rel": "self", "href": base + "/", "type": "application/json"},
                          {"rel": "root", "href": base + "/", "type": "application/json"},
                          {"rel": "search", "href": base + "/search", "type": "application/geo+json",
                           "method": "GET"},
                          {"rel": "search", "href": base + "/search", "type": "application/geo+json",
                           "method": "POST"}]}

    def _search(self, params: dict, post: bool) -> dict:
        if params.get("query") and CONFORMANCE[2] not in self.state.conformance:
            raise AssertionError("query sent to an API without the query extension")
        matches = [item for item in self.state.items if _matches(item, params)]
        limit = int(params.get("limit") or 10)
        if self.state.page_size:
            limit = min(limit, self.state.page_size)
        start = int(params.get("token") or 0)
        page = matches[start:start + limit]
        links = []
        if start + limit < len(matches):
            if post:
                links.append({"rel": "next", "href": self.state.url + "/search", "method": "POST",
                              "body": {"token": str(start + limit)}, "merge": True})
            else:
                query = {k: (json.dumps(v) if isinstance(v, dict) else v) for k, v in params.items()}
                query["token"] = str(start + limit)
                links.append({"rel": "next", "href": self.state.url + "/search?" + urlencode(query),
                              "method": "GET"})
        return {"type": "FeatureCollection", "features": page, "links": links,
                "context": {"returned": len(page), "limit": limit, "matched": len(matches)}}

    def _token(self) -> dict:
        state = self.state
        ttl = state.token_ttl or 3600.0
        with state.lock:
            token = f"sig=t{len(state.tokens) + 1}"
            state.tokens[token] = time.time() + ttl
        expiry = dt.datetime.fromtimestamp(time.time() + ttl, dt.timezone.utc)
        return {"msft:expiry": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"), "token": token}

    def _file(self, path: str, url, head: bool):
        state = self.state
        if state.token_ttl is not None:
            token = next((f"sig={v[0]}" for k, v in parse_qs(url.query).items() if k == "sig"), None)
            if token not in state.tokens or state.tokens[token] < time.time():
                return self._send(403, b"AuthenticationFailed", "text/plain")
        size = os.path.getsize(path)
        match = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range") or "")
        start, end, status = 0, size - 1, 200
        if match:
            start = int(match.group(1))
            end = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
            status = 206
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read(end - start + 1)
        headers = {"Accept-Ranges": "bytes"}
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        if head:
            headers["Content-Length"] = str(size)
            return self._send(200, b"", "image/tiff", headers, head=True)
        with state.lock:
            state.served[url.path] += len(data)
        return self._send(status, data, "image/tiff", headers)

    def _json(self, payload: dict):
        self._send(200, json.dumps(payload).encode(), "application/json")

    def _send(self, status: int, data: bytes, kind: str, headers: Optional[dict] = None, head: bool = False):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if not head:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not head:
            self.wfile.write(data)


def _get_params(query: str) -> dict:
    """Search parameters of a GET request (bbox and collections as comma lists, query as JSON)."""
    params = {k: v[0] for k, v in parse_qs(query).items()}
    if "query" in params:
        params["query"] = json.loads(params["query"])
    return params


def _as_list(value) -> list:
    return value if isinstance(value, list) else [v for v in str(value).split(",") if v]


def _matches(item: dict, params: dict) -> bool:
    """Whether ``item`` passes the collections, bbox, datetime and query filters."""
    if params.get("collections") and item["collection"] not in _as_list(params["collections"]):
        return False
    if params.get("bbox"):
        x0, y0, x1, y1 = (float(v) for v in _as_list(params["bbox"]))
        ix0, iy0, ix1, iy1 = item["bbox"]
        if ix0 > x1 or ix1 < x0 or iy0 > y1 or iy1 < y0:
            return False
    if params.get("datetime"):
        low, high = (_time(t) for t in params["datetime"].split("/"))
        props = item["properties"]
        start = _time(props.get("datetime") or props["start_datetime"])
        end = _time(props.get("datetime") or props["end_datetime"])
        if end < low or start > high:
            return False
    for name, ops in (params.get("query") or {}).items():
        value = item["properties"].get(name)
        for op, ref in ops.items():
            ok = {"eq": lambda: value == ref, "lt": lambda: value < ref, "lte": lambda: value <= ref,
                  "gt": lambda: value > ref, "gte": lambda: value >= ref, "in": lambda: value in ref}[op]
            if value is None or not ok():
                return False
    return True


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
