"""A small local OpenSearch look-alike for tests and the ingest benchmark.

Speaks the OpenSearch 2.x REST wire format (JSON bodies shaped like the real server's) for the endpoints Vigia's
OpenSearch source uses:

* ``GET /`` (cluster info), ``GET /_cat/indices[/<pattern>]?format=json``
* ``POST /<index>/_search/point_in_time?keep_alive=..`` → ``{"pit_id": ..}``;
  ``DELETE /_search/point_in_time`` (body ``{"pit_id": [..]}``) and ``DELETE /_search/point_in_time/_all``
* ``POST /_search`` with ``pit`` + ``sort`` (``_shard_doc``, optionally after ``@timestamp``) + ``search_after``
* ``POST /<index>/_search?scroll=..``, ``POST /_search/scroll``, ``DELETE /_search/scroll``

Documents are generated deterministically per index (nested JSON, monotonically increasing ``@timestamp``), so a
test can compare what it downloaded with :meth:`FakeOpenSearch.expected_ids`.

Scriptable faults: :meth:`FakeOpenSearch.fail_nth` (answer the Nth matching request with 429/503/..),
``username``/``password`` (HTTP basic auth required, 401 ``security_exception`` otherwise), ``pit_supported=False``
(the PIT endpoint answers 400 "no handler found", as an OpenSearch < 2.4 does, which forces the scroll fallback),
:meth:`FakeOpenSearch.drop_connections` (cut the TCP connection mid-response) and :meth:`FakeOpenSearch.expire_pits`.

Run standalone (used by ``bench/opensearch_ingest.py`` so the server has its own interpreter)::

    python -m tests.opensearch_fake --index bench-events=200000
    # prints {"url": "http://127.0.0.1:PORT"} once the documents are generated, then serves until killed
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import fnmatch
import itertools
import json
import random
import socket
import sys
import threading
import uuid
import zlib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

EPOCH_MS = int(dt.datetime(2026, 1, 5, tzinfo=dt.UTC).timestamp() * 1000)
_ACTIONS = ("login", "logout", "file_read", "file_write", "dns_query", "http_request", "process_start")
_USERS = ("alice", "bob", "carol", "dave", "erin", "svc-backup", "svc-web")
_PROTOS = ("tcp", "udp", "icmp")

# Generated documents are cached per (index, count) across servers: tests build many servers over the same indices.
_DOC_CACHE: dict[tuple[str, int], tuple[list[str], list[str], list[int]]] = {}
_DOC_CACHE_LOCK = threading.Lock()


def doc_id(index: str, i: int) -> str:
    """The deterministic ``_id`` of document ``i`` of ``index``."""
    return f"{zlib.crc32(index.encode()):08x}{i:08d}"


def generate_docs(index: str, count: int) -> tuple[list[str], list[str], list[int]]:
    """(ids, ``_source`` JSON texts, ``@timestamp`` millis) of the ``count`` documents of ``index``; cached."""
    key = (index, count)
    with _DOC_CACHE_LOCK:
        if key in _DOC_CACHE:
            return _DOC_CACHE[key]
    rng = random.Random(zlib.crc32(index.encode()))
    ids: list[str] = []
    sources: list[str] = []
    stamps: list[int] = []
    ts = EPOCH_MS
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for i in range(count):
        ts += rng.randrange(0, 40)
        r = rng.getrandbits(64)
        action = _ACTIONS[r % 7]
        src = {
            "@timestamp": dt.datetime.fromtimestamp(ts / 1000, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "event": {"action": action, "severity": (r >> 3) % 5, "outcome": "failure" if r % 11 == 0 else "success"},
            "source": {"ip": f"10.{(r >> 8) & 255}.{(r >> 16) & 255}.{(r >> 24) & 255}", "port": (r >> 32) % 65536},
            "destination": {"ip": f"192.168.{(r >> 40) & 255}.{(r >> 48) & 255}", "port": (443, 53, 80, 22)[r % 4]},
            "network": {"protocol": _PROTOS[(r >> 5) % 3], "bytes": (r >> 12) % 100_000, "packets": 1 + (r >> 20) % 90},
            "user": {"name": _USERS[(r >> 7) % 7], "roles": ["user"] if r % 5 else ["user", "admin"]},
            "tags": ["vigia", f"seq-{i}"],
            "message": f"{action} by {_USERS[(r >> 7) % 7]} — ok",
        }
        ids.append(doc_id(index, i))
        sources.append(dumps(src))
        stamps.append(ts)
    out = (ids, sources, stamps)
    with _DOC_CACHE_LOCK:
        _DOC_CACHE[key] = out
    return out


def _given_docs(index: str, docs: list[dict[str, Any]]) -> tuple[list[str], list[str], list[int]]:
    """(ids, ``_source`` JSON texts, ``@timestamp`` millis) of caller-supplied documents, in time order."""
    def millis(doc: dict[str, Any]) -> int:
        stamp = doc.get("@timestamp")
        return int(dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp() * 1000) if stamp else 0

    ordered = sorted(docs, key=millis)
    ids = [doc_id(index, i) for i in range(len(ordered))]
    return ids, [json.dumps(d, default=str) for d in ordered], [millis(d) for d in ordered]


@dataclass
class _Fault:
    kind: str  # "status" | "drop"
    nth: int  # 1-based, among requests whose path contains `path_contains`
    times: int | None  # how many requests from the nth on it hits; None = every one
    status: int = 503
    path_contains: str = ""
    method: str | None = None
    seen: int = 0


def _error(status: int, etype: str, reason: str, **extra: Any) -> tuple[int, dict[str, Any]]:
    cause = {"type": etype, "reason": reason, **extra}
    return status, {"error": {"root_cause": [cause], "type": etype, "reason": reason, **extra}, "status": status}


def _index_not_found(name: str) -> tuple[int, dict[str, Any]]:
    return _error(
        404,
        "index_not_found_exception",
        f"no such index [{name}]",
        index=name,
        resource_type="index_or_alias",
        resource_id=name,
        index_uuid="_na_",
    )


class FakeOpenSearch:
    """A threaded local HTTP server acting as a one-node OpenSearch 2.x; use as a context manager.

    ``indices`` maps index names to document counts (documents from :func:`generate_docs`).
    """

    def __init__(
        self,
        indices: dict[str, int] | None = None,
        *,
        username: str | None = None,
        password: str | None = None,
        pit_supported: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        documents: dict[str, list[dict[str, Any]]] | None = None,
    ) -> None:
        # ``documents``: serve these ``_source`` objects for an index instead of generated ones.
        self.documents = {name: _given_docs(name, docs) for name, docs in (documents or {}).items()}
        self.indices = dict(indices if indices is not None else {"events-2026.01.05": 12_345})
        self.indices.update({name: len(docs[0]) for name, docs in self.documents.items()})
        self.username = username
        self.password = password
        self.pit_supported = pit_supported
        self._addr = (host, port)
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._pits: dict[str, list[str]] = {}  # pit id -> indices (documents are immutable here)
        self._scrolls: dict[str, dict[str, Any]] = {}
        self._req_no = itertools.count(1)
        self.requests: list[tuple[str, str]] = []  # (method, path with query), in arrival order
        self.server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        for name, count in self.indices.items():
            if name not in self.documents:
                generate_docs(name, count)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeOpenSearch:
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        self.server = ThreadingHTTPServer(self._addr, handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever, args=(0.05,), name="fake-opensearch", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self) -> FakeOpenSearch:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self.server is not None, "server not started"
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    # ------------------------------------------------------------------ test helpers

    def expected_ids(self, index: str) -> list[str]:
        return list((self.documents.get(index) or generate_docs(index, self.indices[index]))[0])

    def fail_nth(
        self, nth: int, status: int = 503, *, path_contains: str = "", method: str | None = None, times: int = 1
    ) -> None:
        """Answer the ``nth`` request (1-based, counting only those whose path contains ``path_contains`` and, if
        given, with that method) and the ``times - 1`` after it with an OpenSearch error of ``status``."""
        with self._lock:
            self._faults.append(_Fault("status", nth, times, status, path_contains, method))

    def drop_connections(
        self, nth: int, *, path_contains: str = "", method: str | None = None, times: int | None = 1
    ) -> None:
        """Cut the connection half-way through the response body of the ``nth`` matching request (and of the
        ``times - 1`` after it; ``times=None``: all later ones, i.e. the server is gone)."""
        with self._lock:
            self._faults.append(_Fault("drop", nth, times, 0, path_contains, method))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def expire_pits(self) -> None:
        with self._lock:
            self._pits.clear()

    @property
    def open_pits(self) -> int:
        return len(self._pits)

    @property
    def open_scrolls(self) -> int:
        return len(self._scrolls)

    # ------------------------------------------------------------------ request handling

    def _match_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            hit = None
            for f in self._faults:
                if f.path_contains not in path or (f.method and f.method != method):
                    continue
                f.seen += 1
                if hit is None and f.seen >= f.nth and (f.times is None or f.seen < f.nth + f.times):
                    hit = f
            return hit

    def _resolve(self, expr: str) -> tuple[list[str], str | None]:
        """Index names for a comma list of names/wildcards; (names, missing concrete name or None)."""
        out: list[str] = []
        for part in (p for p in expr.split(",") if p):
            if any(c in part for c in "*?"):
                out.extend(n for n in sorted(self.indices) if fnmatch.fnmatchcase(n, part) and n not in out)
            elif part in ("_all",):
                out.extend(n for n in sorted(self.indices) if n not in out)
            elif part in self.indices:
                if part not in out:
                    out.append(part)
            else:
                return [], part
        return out, None

    def handle(self, method: str, path: str, query: dict[str, str], body: dict[str, Any] | None) -> tuple[int, Any]:
        parts = [unquote(p) for p in path.split("/") if p]
        if method in ("GET", "HEAD") and not parts:
            return 200, {
                "name": "fake-node",
                "cluster_name": "vigia-fake",
                "version": {"distribution": "opensearch", "number": "2.19.0" if self.pit_supported else "2.3.0"},
                "tagline": "The OpenSearch Project: https://opensearch.org/",
            }
        if parts[:2] == ["_cat", "indices"] and method == "GET":
            return self._cat_indices(parts[2] if len(parts) > 2 else "*")
        if (parts == ["_search", "point_in_time"] and method == "DELETE") or parts == [
            "_search",
            "point_in_time",
            "_all",
        ]:
            return self._delete_pit(parts, body)
        if parts == ["_search", "scroll"] or (len(parts) == 3 and parts[:2] == ["_search", "scroll"]):
            if method == "DELETE":
                return self._clear_scroll(body, parts)
            return self._scroll_next(query, body, parts)
        if len(parts) == 3 and parts[1:] == ["_search", "point_in_time"] and method == "POST":
            return self._create_pit(parts[0], query)
        if parts == ["_search"] and method in ("GET", "POST"):
            return self._search(None, query, body or {})
        if len(parts) == 2 and parts[1] == "_search" and method in ("GET", "POST"):
            return self._search(parts[0], query, body or {})
        return 400, {"error": f"no handler found for uri [{path}] and method [{method}]"}

    def _cat_indices(self, expr: str) -> tuple[int, Any]:
        names, missing = self._resolve(expr)
        if missing:
            return _index_not_found(missing)
        rows = []
        for n in names:
            count = self.indices[n]
            rows.append(
                {
                    "health": "green",
                    "status": "open",
                    "index": n,
                    "uuid": uuid.UUID(int=zlib.crc32(n.encode())).hex[:22],
                    "pri": "1",
                    "rep": "0",
                    "docs.count": str(count),
                    "docs.deleted": "0",
                    "store.size": f"{max(count * 380 // 1024, 1)}kb",
                    "pri.store.size": f"{max(count * 380 // 1024, 1)}kb",
                }
            )
        return 200, rows

    def _create_pit(self, expr: str, query: dict[str, str]) -> tuple[int, Any]:
        if not self.pit_supported:
            return 400, {"error": f"no handler found for uri [/{expr}/_search/point_in_time] and method [POST]"}
        if "keep_alive" not in query:
            return _error(400, "action_request_validation_exception", "Validation Failed: 1: keep alive not specified;")
        names, missing = self._resolve(expr)
        if missing:
            return _index_not_found(missing)
        pit_id = base64.urlsafe_b64encode(uuid.uuid4().bytes * 3).decode()
        with self._lock:
            self._pits[pit_id] = names
        return 200, {
            "pit_id": pit_id,
            "_shards": {"total": len(names), "successful": len(names), "skipped": 0, "failed": 0},
            "creation_time": EPOCH_MS,
        }

    def _delete_pit(self, parts: list[str], body: dict[str, Any] | None) -> tuple[int, Any]:
        with self._lock:
            ids = list(self._pits) if parts[-1] == "_all" else list((body or {}).get("pit_id", []))
            pits = [{"successful": self._pits.pop(i, None) is not None, "pit_id": i} for i in ids]
        return 200, {"pits": pits}

    def _docs(self, names: list[str]) -> list[tuple[str, list[str], list[str], list[int]]]:
        return [(n, *(self.documents.get(n) or generate_docs(n, self.indices[n]))) for n in names]

    @staticmethod
    def _total(names_docs: list[tuple[str, list[str], list[str], list[int]]]) -> int:
        return sum(len(d[1]) for d in names_docs)

    def _search(self, expr: str | None, query: dict[str, str], body: dict[str, Any]) -> tuple[int, Any]:
        pit = body.get("pit")
        if pit is not None:
            if not self.pit_supported:
                return _error(400, "parsing_exception", "Unknown key for a START_OBJECT in [pit].", line=1, col=2)
            if expr is not None:
                return _error(400, "action_request_validation_exception", "[indices] cannot be used with point in time")
            names = self._pits.get(pit.get("id", ""))
            if names is None:
                reason = f"No search context found for id [{str(pit.get('id'))[:16]}]"
                return 404, {
                    "error": {
                        "root_cause": [{"type": "search_context_missing_exception", "reason": reason}],
                        "type": "search_phase_execution_exception",
                        "reason": "all shards failed",
                        "phase": "query",
                        "grouped": True,
                    },
                    "status": 404,
                }
        else:
            names, missing = self._resolve(expr or "_all")
            if missing:
                return _index_not_found(missing)
        size = int(body.get("size", query.get("size", 10)))
        sort = body.get("sort") or []
        keys = [next(iter(s)) if isinstance(s, dict) else s for s in sort]
        with_ts = bool(keys) and keys[0] == "@timestamp"
        if pit is not None and (not keys or keys[-1] != "_shard_doc"):
            keys_ok = keys == ["@timestamp"] or not keys
            if not keys_ok:
                return _error(400, "illegal_argument_exception", f"fake supports only _shard_doc sorts, got {keys}")
        docs = self._docs(names)
        total = self._total(docs)
        if "scroll" in query:
            sid = base64.urlsafe_b64encode(b"scroll:" + uuid.uuid4().bytes * 2).decode()
            with self._lock:
                self._scrolls[sid] = {"names": names, "pos": 0, "size": size}
            return self._scroll_page(sid)
        start = 0
        if body.get("search_after") is not None:
            start = int(body["search_after"][-1]) + 1
        resp = self._page(docs, start, size, total, sort_ts=with_ts, sort=bool(keys))
        if pit is not None:
            resp["pit_id"] = pit["id"]
        return 200, resp

    def _page(self, docs, start: int, size: int, total: int, *, sort_ts: bool, sort: bool) -> dict[str, Any]:
        # Builds the hits as pre-rendered JSON text (the documents are pre-serialized) for speed.
        hits: list[str] = []
        pos = 0
        for name, ids, sources, stamps in docs:
            n = len(ids)
            if start >= pos + n:
                pos += n
                continue
            jname = json.dumps(name)
            lo = max(start - pos, 0)
            hi = min(n, lo + size - len(hits))
            for i in range(lo, hi):
                if not sort:
                    srt = ""
                elif sort_ts:
                    srt = f',"sort":[{stamps[i]},{pos + i}]'
                else:
                    srt = f',"sort":[{pos + i}]'
                hits.append(f'{{"_index":{jname},"_id":"{ids[i]}","_score":null,"_source":{sources[i]}{srt}}}')
            pos += n
            if len(hits) >= size:
                break
        return _RawJSON(
            '{"took":1,"timed_out":false,"_shards":{"total":1,"successful":1,"skipped":0,"failed":0},'
            f'"hits":{{"total":{{"value":{total},"relation":"eq"}},"max_score":null,"hits":[' + ",".join(hits) + "]}}"
        )

    def _scroll_page(self, sid: str) -> tuple[int, Any]:
        with self._lock:
            st = self._scrolls.get(sid)
            if st is None:
                reason = f"No search context found for id [{sid[:12]}]"
                return _error(404, "search_context_missing_exception", reason)
            start = st["pos"]
            st["pos"] += st["size"]
        docs = self._docs(st["names"])
        raw = self._page(docs, start, st["size"], self._total(docs), sort_ts=False, sort=True)
        return 200, _RawJSON('{"_scroll_id":' + json.dumps(sid) + "," + raw.text[1:])

    def _scroll_next(self, query: dict[str, str], body: dict[str, Any] | None, parts: list[str]) -> tuple[int, Any]:
        sid = (body or {}).get("scroll_id") or query.get("scroll_id") or (parts[2] if len(parts) == 3 else None)
        if not sid:
            return _error(400, "action_request_validation_exception", "Validation Failed: 1: scrollId is missing;")
        return self._scroll_page(sid)

    def _clear_scroll(self, body: dict[str, Any] | None, parts: list[str]) -> tuple[int, Any]:
        ids = (body or {}).get("scroll_id", [])
        if isinstance(ids, str):
            ids = [ids]
        with self._lock:
            if len(parts) == 3 and parts[2] == "_all":
                ids = list(self._scrolls)
            freed = sum(self._scrolls.pop(i, None) is not None for i in ids)
        return 200, {"succeeded": True, "num_freed": freed}


class _RawJSON(dict):
    """A response body that is already JSON text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-opensearch"
    fake: FakeOpenSearch

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr access logs
        pass

    def _serve(self, method: str) -> None:
        fake = self.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        with fake._lock:
            fake.requests.append((method, self.path))
        fault = fake._match_fault(method, self.path)
        if fake.username is not None and not self._authorized():
            status, payload = _error(
                401,
                "security_exception",
                "missing authentication credentials for REST request [" + split.path + "]",
                header={"WWW-Authenticate": 'Basic realm="OpenSearch Security"'},
            )
            self._send(status, payload, method, extra={"WWW-Authenticate": 'Basic realm="OpenSearch Security"'})
            return
        if fault is not None and fault.kind == "status":
            etype = {429: "rejected_execution_exception", 503: "cluster_block_exception"}.get(
                fault.status, "internal_server_error"
            )
            self._send(*_error(fault.status, etype, f"injected {fault.status} for test"), method)
            return
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self._send(*_error(400, "parse_exception", "request body is not valid JSON"), method)
            return
        status, payload = fake.handle(method, split.path, query, body)
        self._send(status, payload, method, drop=fault is not None and fault.kind == "drop")

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, pw = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.fake.username and pw == self.fake.password

    def _send(
        self, status: int, payload: Any, method: str, *, drop: bool = False, extra: dict[str, str] | None = None
    ) -> None:
        text = payload.text if isinstance(payload, _RawJSON) else json.dumps(payload)
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if method == "HEAD":
            return
        if drop:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_PUT(self) -> None:
        self._serve("PUT")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", action="append", default=[], help="NAME=COUNT (repeatable)")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--no-pit", action="store_true", help="answer like an OpenSearch without PIT (forces scroll)")
    args = ap.parse_args(argv)
    indices = {n: int(c) for n, _, c in (s.partition("=") for s in args.index)} or None
    fake = FakeOpenSearch(indices, port=args.port, pit_supported=not args.no_pit).start()
    print(json.dumps({"url": fake.url, "indices": fake.indices}), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
