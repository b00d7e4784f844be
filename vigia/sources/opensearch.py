"""OpenSearch source: list indices and download an index to NDJSON, resumably, with Vigia's own retry policy.

Dagster-free; a resource wraps :class:`OpenSearchSettings` + :func:`make_client` and assets call
:func:`download_index`.

* :func:`make_client` builds the official ``opensearchpy.OpenSearch`` client with the client's own retries turned
  off (``max_retries=0``); every call Vigia makes goes through :class:`_Retrier`: exponential backoff with jitter
  (``random.Random(settings.jitter_seed)``, so deterministic when seeded) on 429, 5xx, connection errors and
  timeouts, at most ``settings.max_retries`` retries per request.
* 401 → :class:`OpenSearchAuthError` ``"authentication failed for <url without credentials>"``; 403 →
  :class:`OpenSearchPermissionError` ``"permission denied for <request> on <url> (403 forbidden): <reason>"``
  (the server's ``security_exception`` reason); unknown index
  → :class:`IndexNotFoundError` ``"index not found: <name>"``; both are :class:`~vigia.sources.errors.SourceError`.
* :func:`download_index` reads with a point in time (PIT) + ``search_after`` sorted on ``_shard_doc`` (every
  document exactly once, from one consistent snapshot), falling back to scroll when the cluster has no PIT API
  (OpenSearch < 2.4: 400/404/405 on the PIT endpoint). Each hit becomes one NDJSON line (``_source`` plus ``_id``
  and ``_index``), appended and flushed per batch; after each batch a checkpoint JSON records the PIT id, the last
  ``search_after`` values, the documents written and the byte offset of the file. A rerun with that checkpoint
  truncates the file to the offset and continues from ``search_after`` on the same PIT (kept alive by
  ``pit_keep_alive``); if that PIT has expired, or the run used scroll (a scroll cannot be resumed), it restarts
  from scratch and says so (``DownloadResult.restarted``), so exactly-once always holds.

Credentials never appear in reprs, log records or error messages: the client gets the URL without userinfo and
``http_auth`` separately, ``OpenSearchSettings.__repr__`` masks the password, and every ``SourceError`` message
is scrubbed of the password as a last line of defence.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import SplitResult, unquote, urlsplit

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as OSConnectionError
from opensearchpy.exceptions import ConnectionTimeout, SSLError, TransportError

from vigia.sources.errors import SourceError

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
CHECKPOINT_VERSION = 1
_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}


class OpenSearchAuthError(SourceError):
    """401/403 from the cluster; the message names the URL without credentials."""


class OpenSearchPermissionError(OpenSearchAuthError):
    """403 from the cluster: the credentials are valid but lack a privilege; the message gives the server's reason."""


class IndexNotFoundError(SourceError):
    """The index (or pattern with no match where one is required) does not exist."""


# ============================================================================================ settings


_CREDENTIALS_HINT = (
    "put the credentials in VIGIA_OPENSEARCH_USERNAME / VIGIA_OPENSEARCH_PASSWORD, or percent-encode them in the URL"
)


def redact_url(url: str) -> str:
    """``url`` without userinfo (``https://u:p@h:9200/x`` → ``https://h:9200/x``) and without query/fragment.

    Never raises and never returns credentials, even from a malformed URL: everything up to the last ``@`` is
    dropped (userinfo with an unencoded ``/``, ``?`` or ``#`` included), so it is safe in error messages."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        scheme, rest = "", url.strip()
    rest = rest.rpartition("@")[2]
    rest = re.split(r"[?#]", rest, maxsplit=1)[0]
    netloc, slash, path = rest.partition("/")
    path = ("/" + path).rstrip("/") if slash else ""
    return f"{scheme.lower()}{sep}{netloc.lower()}{path}"


def _check_url(url: str) -> SplitResult:
    """``urlsplit(url)`` of a well-formed ``http(s)://[user:pass@]host[:port][/prefix]``, else ``SourceError``
    (the message shows the URL without its credentials)."""
    shown = redact_url(url)
    hint = f"; {_CREDENTIALS_HINT}" if "@" in url else ""
    if not re.match(r"^\s*https?://", url, flags=re.IGNORECASE):
        raise SourceError(f"OpenSearch URL must start with http:// or https:// (like https://host:9200), "
                          f"got {shown!r}{hint}")  # fmt: skip
    parts = urlsplit(url.strip())
    if "@" in parts.path or "@" in parts.query or "@" in parts.fragment:
        raise SourceError(f"OpenSearch URL {shown!r} has an '@' after its host: the credentials likely hold an "
                          f"unencoded '/', '?' or '#'{hint}")  # fmt: skip
    try:
        _ = parts.port  # ValueError on a port that is not a number or out of range
    except ValueError:
        raise SourceError(f"OpenSearch URL {shown!r}: the port is not a number within 0..65535{hint}") from None
    if not parts.hostname:
        raise SourceError(f"OpenSearch URL {shown!r} has no host (expected like https://host:9200){hint}")
    return parts


@dataclass
class OpenSearchSettings:
    """Connection and paging settings. ``password`` is masked in ``repr``; ``url`` may carry ``user:pass@``,
    which is moved into ``username``/``password`` (when those are unset) and stripped from ``url``."""

    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    verify_certs: bool = True
    ca_certs: str | None = None
    timeout_s: float = 30.0
    max_retries: int = 5
    backoff_s: float = 0.5
    batch_size: int = 5000
    max_backoff_s: float = 30.0
    jitter_seed: int | None = None
    pit_keep_alive: str = "5m"

    def __post_init__(self) -> None:
        parts = _check_url(self.url)
        if parts.username is not None or parts.password is not None:
            if self.username is None and parts.username:
                self.username = unquote(parts.username)
            if self.password is None and parts.password is not None:
                self.password = unquote(parts.password)
        self.url = redact_url(self.url)
        if self.batch_size < 1 or self.batch_size > 10_000:
            raise SourceError(f"batch_size must be within 1..10000 (index.max_result_window), got {self.batch_size}")
        if self.max_retries < 0:
            raise SourceError(f"max_retries must be >= 0, got {self.max_retries}")

    def __repr__(self) -> str:
        return (
            f"OpenSearchSettings(url={self.url!r}, username={self.username!r}, "
            f"password={'***' if self.password else None!r}, verify_certs={self.verify_certs}, "
            f"ca_certs={self.ca_certs!r}, timeout_s={self.timeout_s}, max_retries={self.max_retries}, "
            f"backoff_s={self.backoff_s}, batch_size={self.batch_size})"
        )

    __str__ = __repr__

    @classmethod
    def from_env(
        cls, prefix: str = "VIGIA_OPENSEARCH_", env: Mapping[str, str] | None = None, **overrides: Any
    ) -> OpenSearchSettings:
        """Settings from ``<prefix>URL`` (required), ``USERNAME``, ``PASSWORD``, ``VERIFY_CERTS``, ``CA_CERTS``,
        and optionally ``TIMEOUT_S``, ``MAX_RETRIES``, ``BACKOFF_S``, ``BATCH_SIZE``; ``overrides`` win."""
        env = os.environ if env is None else env
        url = env.get(f"{prefix}URL")
        if not url:
            raise SourceError(f"{prefix}URL is not set")
        kw: dict[str, Any] = {"url": url}
        for key, name in (("username", "USERNAME"), ("password", "PASSWORD"), ("ca_certs", "CA_CERTS")):
            if env.get(prefix + name):
                kw[key] = env[prefix + name]
        if (raw := env.get(prefix + "VERIFY_CERTS")) is not None and raw.strip():
            val = raw.strip().lower()
            if val not in _TRUE | _FALSE:
                raise SourceError(f"{prefix}VERIFY_CERTS must be true/false, got {raw!r}")
            kw["verify_certs"] = val in _TRUE
        for key, name, typ in (
            ("timeout_s", "TIMEOUT_S", float),
            ("max_retries", "MAX_RETRIES", int),
            ("backoff_s", "BACKOFF_S", float),
            ("batch_size", "BATCH_SIZE", int),
        ):
            if env.get(prefix + name):
                try:
                    kw[key] = typ(env[prefix + name])
                except ValueError:
                    raise SourceError(f"{prefix}{name} must be a number, got {env[prefix + name]!r}") from None
        kw.update(overrides)
        return cls(**kw)


def make_client(settings: OpenSearchSettings) -> OpenSearch:
    """The official client for ``settings``, with its own retries off (Vigia retries, see :class:`_Retrier`)."""
    kw: dict[str, Any] = {
        "hosts": [settings.url],
        "timeout": settings.timeout_s,
        "max_retries": 0,
        "retry_on_timeout": False,
        "retry_on_status": (),
        "http_compress": False,
    }
    if settings.username is not None:
        kw["http_auth"] = (settings.username, settings.password or "")
    if settings.url.startswith("https"):
        kw["use_ssl"] = True
        kw["verify_certs"] = settings.verify_certs
        if settings.ca_certs:
            kw["ca_certs"] = settings.ca_certs
        if not settings.verify_certs:
            kw["ssl_show_warn"] = False
            kw["ssl_assert_hostname"] = False
            log.warning("TLS certificate verification is OFF for %s", settings.url)
    return OpenSearch(**kw)


# ============================================================================================ errors + retry


def _client_url(client: OpenSearch) -> str:
    try:
        conn = client.transport.get_connection()
        return redact_url(f"{conn.host}{getattr(conn, 'url_prefix', '')}")
    except Exception:  # pragma: no cover - defensive
        return "<opensearch>"


def _root_types(exc: TransportError) -> set[str]:
    info = exc.info if isinstance(exc.info, dict) else {}
    err = info.get("error")
    types = {str(exc.error)}
    if isinstance(err, dict):
        types.add(str(err.get("type")))
        types.update(str(c.get("type")) for c in err.get("root_cause") or [] if isinstance(c, dict))
    return types


def _reason(exc: TransportError) -> str:
    info = exc.info if isinstance(exc.info, dict) else {}
    err = info.get("error")
    if isinstance(err, dict):
        causes = [c for c in err.get("root_cause") or [] if isinstance(c, dict)]
        src = causes[0] if causes else err
        return f"{src.get('type')}: {src.get('reason')}"
    if isinstance(err, str):
        return err[:300]
    return str(exc.error)[:300]


def is_retryable(exc: BaseException) -> bool:
    """429, 5xx, connection errors and timeouts (not TLS errors: a bad certificate does not get better)."""
    if isinstance(exc, _PartialResults):
        return True
    if isinstance(exc, SSLError):
        return False
    if isinstance(exc, ConnectionTimeout | OSConnectionError):
        return True
    if isinstance(exc, TransportError):
        code = exc.status_code
        return isinstance(code, int) and (code in RETRY_STATUSES or code >= 500)
    return False


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionTimeout):
        return "timeout"
    if isinstance(exc, SSLError):
        return "TLS error"
    if isinstance(exc, OSConnectionError):
        return "connection error"
    if isinstance(exc, TransportError):
        return f"HTTP {exc.status_code} {_reason(exc)}"
    if isinstance(exc, _PartialResults):
        return f"partial results: {exc}"
    return f"{type(exc).__name__}: {exc}"


class _PartialResults(Exception):
    """A search answered with failed shards: its page may be incomplete, so it is retried."""


class _PitExpired(Exception):
    pass


class _PitUnsupported(Exception):
    pass


class _Retrier:
    """Runs one request with Vigia's retry policy and maps the final failure to a ``SourceError``."""

    def __init__(
        self,
        settings: OpenSearchSettings,
        url: str,
        *,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.url = url
        self.rng = rng if rng is not None else random.Random(settings.jitter_seed)
        self.sleep = sleep
        self.retries = 0
        self.slept_s = 0.0

    def delay(self, attempt: int) -> float:
        """Exponential backoff with jitter: ``backoff_s * 2**attempt`` capped, times a uniform [0.5, 1)."""
        base = min(self.settings.backoff_s * (2**attempt), self.settings.max_backoff_s)
        return base * (0.5 + self.rng.random() / 2)

    def scrub(self, text: str) -> str:
        pw = self.settings.password
        return text.replace(pw, "***") if pw else text

    def error(self, exc: BaseException, what: str, index: str | None = None) -> SourceError:
        if isinstance(exc, TransportError) and exc.status_code == 401:
            return OpenSearchAuthError(f"authentication failed for {self.url} (401 unauthorized)")
        if isinstance(exc, TransportError) and exc.status_code == 403:
            return OpenSearchPermissionError(
                self.scrub(f"permission denied for {what} on {self.url} (403 forbidden): {_reason(exc)}")
            )
        if isinstance(exc, TransportError) and "index_not_found_exception" in _root_types(exc):
            info = exc.info if isinstance(exc.info, dict) else {}
            name = index or (info.get("error") or {}).get("index") or "?"
            return IndexNotFoundError(f"index not found: {name}")
        msg = f"OpenSearch {what} on {self.url} failed: {_describe(exc)}"
        if is_retryable(exc):
            msg += f" (gave up after {self.settings.max_retries} retries)"
        return SourceError(self.scrub(msg))

    def call(self, what: str, fn: Callable[[], Any], *, index: str | None = None, raw: bool = False) -> Any:
        """``fn()`` retried on retryable errors; ``raw=True`` re-raises the last non-retryable ``TransportError``
        unmapped (callers that inspect it, e.g. PIT support detection)."""
        attempt = 0
        while True:
            try:
                return fn()
            except (TransportError, _PartialResults) as exc:
                if is_retryable(exc) and attempt < self.settings.max_retries:
                    pause = self.delay(attempt)
                    attempt += 1
                    self.retries += 1
                    log.warning(
                        "OpenSearch %s: %s; retry %d/%d in %.2fs",
                        what,
                        self.scrub(_describe(exc)),
                        attempt,
                        self.settings.max_retries,
                        pause,
                    )
                    self.slept_s += pause
                    self.sleep(pause)
                    continue
                if raw and isinstance(exc, TransportError) and not is_retryable(exc):
                    raise
                raise self.error(exc, what, index) from exc


# ============================================================================================ list


def list_indices(
    client: OpenSearch,
    pattern: str = "*",
    *,
    settings: OpenSearchSettings | None = None,
    include_hidden: bool = False,
) -> list[str]:
    """Sorted index names matching ``pattern`` (``_cat/indices/<pattern>?format=json``); names starting with
    ``.`` (system/hidden) are left out unless ``include_hidden`` or the pattern itself starts with ``.``."""
    url = _client_url(client)
    retrier = _Retrier(settings or OpenSearchSettings(url=url), url)
    path = "/_cat/indices/" + pattern if pattern else "/_cat/indices"
    rows = retrier.call(
        f"_cat/indices {pattern!r}",
        lambda: client.transport.perform_request("GET", path, params={"format": "json", "h": "index"}),
        index=pattern,
    )
    names = sorted({r["index"] for r in rows or []})
    if not (include_hidden or pattern.startswith(".")):
        names = [n for n in names if not n.startswith(".")]
    return names


# ============================================================================================ download


@dataclass
class DownloadResult:
    index: str
    path: Path
    docs: int  # documents in the file at the end (resumed + new)
    batches: int  # non-empty pages written in this run
    retries: int
    seconds: float
    method: Literal["pit", "scroll"]
    resumed: bool
    docs_resumed: int = 0  # documents already in the file from the checkpoint
    total: int | None = None  # hits.total reported by the cluster (exact)
    bytes: int = 0
    restarted: str | None = None  # why a checkpoint could not be resumed, if so

    @property
    def docs_per_s(self) -> float:
        new = self.docs - self.docs_resumed
        return new / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "path": str(self.path),
            "docs": self.docs,
            "batches": self.batches,
            "retries": self.retries,
            "seconds": round(self.seconds, 3),
            "method": self.method,
            "resumed": self.resumed,
            "docs_resumed": self.docs_resumed,
            "total": self.total,
            "bytes": self.bytes,
            "restarted": self.restarted,
            "docs_per_s": round(self.docs_per_s, 1),
        }


class _Writer:
    """The NDJSON output plus its checkpoint."""

    def __init__(self, out_path: Path, checkpoint_path: Path | None, index: str) -> None:
        self.path = out_path
        self.checkpoint_path = checkpoint_path
        self.index = index
        self.fh: Any = None
        self.docs = 0
        self.offset = 0
        self._dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def open(self, offset: int, docs: int) -> None:
        """Open for appending at ``offset`` (truncating anything after it; 0 = start afresh)."""
        if self.fh is not None:
            self.fh.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if offset > 0:
            self.fh = open(self.path, "r+b")  # noqa: SIM115 - closed in close()
            self.fh.truncate(offset)
            self.fh.seek(offset)
        else:
            self.fh = open(self.path, "wb")  # noqa: SIM115
            if self.checkpoint_path is not None:  # a checkpoint of an earlier attempt no longer matches the file
                self.checkpoint_path.unlink(missing_ok=True)
        self.offset, self.docs = offset, docs

    def write_hits(self, hits: list[dict[str, Any]]) -> None:
        docs = []
        for h in hits:
            doc = dict(h.get("_source") or {})
            doc["_id"] = h.get("_id")
            doc["_index"] = h.get("_index")
            docs.append(doc)
        try:
            data = ("\n".join(map(self._dumps, docs)) + "\n").encode()
        except UnicodeEncodeError:  # a lone surrogate (legal as a JSON escape, not as UTF-8): keep it escaped
            data = ("\n".join(json.dumps(d, separators=(",", ":")) for d in docs) + "\n").encode()
        self.fh.write(data)
        self.fh.flush()
        self.offset += len(data)
        self.docs += len(hits)

    def checkpoint(self, state: dict[str, Any]) -> None:
        if self.checkpoint_path is None:
            return
        os.fsync(self.fh.fileno())  # the data the checkpoint vouches for is on disk before the checkpoint
        payload = {
            "version": CHECKPOINT_VERSION,
            "index": self.index,
            "out_path": str(self.path),
            "docs_written": self.docs,
            "offset": self.offset,
            "updated_at": time.time(),
            **state,
        }
        tmp = self.checkpoint_path.with_name(self.checkpoint_path.name + ".tmp")
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(payload))
        os.replace(tmp, self.checkpoint_path)

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None


def _load_checkpoint(checkpoint_path: Path | None, index: str, out_path: Path) -> tuple[dict[str, Any] | None, str]:
    """(usable checkpoint or None, reason it is not usable or '')."""
    if checkpoint_path is None or not checkpoint_path.exists():
        return None, ""
    try:
        cp = json.loads(checkpoint_path.read_text())
    except (OSError, ValueError) as exc:
        return None, f"unreadable checkpoint ({type(exc).__name__})"
    if cp.get("version") != CHECKPOINT_VERSION or cp.get("index") != index:
        return None, f"checkpoint is for index {cp.get('index')!r}, not {index!r}"
    if cp.get("method") == "scroll":
        return None, "the interrupted run used scroll, which cannot be resumed; restarting from scratch"
    size = out_path.stat().st_size if out_path.exists() else -1
    if size < int(cp.get("offset", 0)):
        return None, f"output file is shorter ({size} B) than the checkpoint offset ({cp.get('offset')} B)"
    if not cp.get("pit_id") or cp.get("search_after") is None:
        return None, "checkpoint has no PIT position"
    return cp, ""


def _check_page(resp: Any) -> list[dict[str, Any]]:
    shards = (resp or {}).get("_shards") or {}
    if shards.get("failed"):
        msg = f"{shards.get('failed')} of {shards.get('total')} shards failed"
        first = next((f for f in shards.get("failures") or [] if isinstance(f, dict)), None)
        if first is not None:
            reason = first.get("reason")
            if isinstance(reason, dict):
                reason = f"{reason.get('type')}: {str(reason.get('reason'))[:300]}"
            where = f"shard {first.get('shard')} of {first.get('index')}" if first.get("index") else ""
            msg += f" ({reason}{'; ' + where if where else ''})"
        raise _PartialResults(msg)
    if resp.get("timed_out"):
        raise _PartialResults("search timed out (partial results)")
    return resp["hits"]["hits"]


def _total(resp: Any) -> int | None:
    tot = (resp.get("hits") or {}).get("total")
    if isinstance(tot, dict):
        return int(tot["value"]) if tot.get("relation", "eq") == "eq" else None
    return int(tot) if isinstance(tot, int) else None


def download_index(
    client: OpenSearch,
    index: str,
    out_path: Path,
    *,
    settings: OpenSearchSettings,
    checkpoint_path: Path | None = None,
    progress: Progress | None = None,
    query: dict[str, Any] | None = None,
    sort_by_timestamp: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> DownloadResult:
    """Download every document of ``index`` (a name, alias or pattern) into ``out_path`` as NDJSON.

    PIT + ``search_after`` (sort ``_shard_doc``, or ``@timestamp`` then ``_shard_doc`` with
    ``sort_by_timestamp``), scroll fallback when PIT is unsupported; checkpointed and resumable via
    ``checkpoint_path`` (removed on success). ``progress(docs_written, total_or_None)`` is called after each batch.
    ``query`` is an optional OpenSearch query clause (default ``match_all``).
    """
    out_path = Path(out_path)
    t0 = time.perf_counter()
    url = _client_url(client)
    retrier = _Retrier(settings, url, sleep=sleep)
    writer = _Writer(out_path, checkpoint_path, index)
    cp, why_not = _load_checkpoint(checkpoint_path, index, out_path)
    restarted: str | None = why_not or None
    if why_not:
        log.warning("checkpoint %s not resumed: %s", checkpoint_path, why_not)
    sort: list[Any] = [{"_shard_doc": "asc"}]
    if sort_by_timestamp:
        sort = [{"@timestamp": {"order": "asc", "unmapped_type": "date"}}, *sort]
    state: dict[str, Any] = {"batches": 0, "total": None, "method": "pit", "resumed": False, "docs_resumed": 0}

    def report() -> None:
        if progress is not None:
            progress(writer.docs, state["total"])

    try:
        if cp is not None:
            writer.open(int(cp["offset"]), int(cp["docs_written"]))
            state.update(resumed=True, docs_resumed=writer.docs, total=cp.get("total"))
            log.info("resuming %s from checkpoint: %d docs, offset %d", index, writer.docs, writer.offset)
            try:
                _pit_loop(
                    client,
                    retrier,
                    writer,
                    state,
                    index,
                    settings,
                    cp["pit_id"],
                    cp["search_after"],
                    sort,
                    query,
                    report,
                    checkpointed=True,
                )
            except _PitExpired:
                restarted = "the checkpoint's point in time has expired; restarting from scratch"
                log.warning("%s: %s", index, restarted)
                state.update(resumed=False, docs_resumed=0, batches=0, total=None)
                cp = None
        if cp is None:
            writer.open(0, 0)
            try:
                pit_id = _open_pit(client, retrier, index, settings)
            except _PitUnsupported as exc:
                log.warning("point in time unsupported on %s (%s); falling back to scroll", url, exc)
                state["method"] = "scroll"
                _scroll_loop(client, retrier, writer, state, index, settings, query, report)
            else:
                try:
                    _pit_loop(
                        client,
                        retrier,
                        writer,
                        state,
                        index,
                        settings,
                        pit_id,
                        None,
                        sort,
                        query,
                        report,
                        checkpointed=checkpoint_path is not None,
                    )
                except _PitExpired as exc:
                    raise SourceError(f"point in time on {index} expired during the download") from exc
    finally:
        writer.close()
    if checkpoint_path is not None:
        checkpoint_path.unlink(missing_ok=True)
    result = DownloadResult(
        index=index,
        path=out_path,
        docs=writer.docs,
        batches=state["batches"],
        retries=retrier.retries,
        seconds=time.perf_counter() - t0,
        method=state["method"],
        resumed=state["resumed"],
        docs_resumed=state["docs_resumed"],
        total=state["total"],
        bytes=writer.offset,
        restarted=restarted,
    )
    log.info(
        "downloaded %s from %s: %d docs in %d batches (%s, %d retries, %.1fs)",
        index, url, result.docs, result.batches, result.method, result.retries, result.seconds,
    )  # fmt: skip
    return result


def _open_pit(client: OpenSearch, retrier: _Retrier, index: str, settings: OpenSearchSettings) -> str:
    try:
        resp = retrier.call(
            "create point in time",
            lambda: client.transport.perform_request(
                "POST", f"/{index}/_search/point_in_time", params={"keep_alive": settings.pit_keep_alive}
            ),
            index=index,
            raw=True,
        )
    except TransportError as exc:
        if exc.status_code in (400, 404, 405) and "index_not_found_exception" not in _root_types(exc):
            raise _PitUnsupported(_describe(exc)) from exc
        raise retrier.error(exc, "create point in time", index) from exc
    return resp["pit_id"]


def _delete_pit(client: OpenSearch, retrier: _Retrier, pit_id: str) -> None:
    try:
        client.transport.perform_request("DELETE", "/_search/point_in_time", body={"pit_id": [pit_id]})
    except TransportError as exc:  # best effort: it expires after keep_alive anyway
        log.warning("could not delete point in time: %s", retrier.scrub(_describe(exc)))


def _pit_loop(
    client: OpenSearch,
    retrier: _Retrier,
    writer: _Writer,
    state: dict[str, Any],
    index: str,
    settings: OpenSearchSettings,
    pit_id: str,
    search_after: list[Any] | None,
    sort: list[Any],
    query: dict[str, Any] | None,
    report: Callable[[], None],
    *,
    checkpointed: bool,
) -> None:
    first = True
    done = False
    try:
        while True:
            body: dict[str, Any] = {
                "size": settings.batch_size,
                "pit": {"id": pit_id, "keep_alive": settings.pit_keep_alive},
                "sort": sort,
                "track_total_hits": first and state["total"] is None,
            }
            if query is not None:
                body["query"] = query
            if search_after is not None:
                body["search_after"] = search_after
            try:
                resp = retrier.call(
                    "search (point in time)",
                    lambda body=body: _check_and_return(
                        client.transport.perform_request("POST", "/_search", body=body)
                    ),
                    index=index,
                    raw=True,
                )
            except TransportError as exc:
                if exc.status_code == 404 and "search_context_missing_exception" in _root_types(exc):
                    raise _PitExpired() from exc
                raise retrier.error(exc, "search (point in time)", index) from exc
            pit_id = resp.get("pit_id") or pit_id
            if first and state["total"] is None:
                state["total"] = _total(resp)
            first = False
            hits = resp["hits"]["hits"]
            if not hits:
                done = True
                break
            writer.write_hits(hits)
            state["batches"] += 1
            search_after = hits[-1]["sort"]
            writer.checkpoint({"method": "pit", "pit_id": pit_id, "search_after": search_after,
                               "total": state["total"]})  # fmt: skip
            report()
    finally:
        # Keep the PIT alive for a resume when a checkpoint exists and the run failed; otherwise free it.
        if done or not checkpointed:
            _delete_pit(client, retrier, pit_id)


def _check_and_return(resp: Any) -> Any:
    _check_page(resp)
    return resp


class _RestartScroll(Exception):
    pass


def _scroll_loop(
    client: OpenSearch,
    retrier: _Retrier,
    writer: _Writer,
    state: dict[str, Any],
    index: str,
    settings: OpenSearchSettings,
    query: dict[str, Any] | None,
    report: Callable[[], None],
) -> None:
    """Scroll the whole index. A lost or failed page of a scroll cannot be asked for again (the scroll has
    moved on), so only 429 (rejected before execution) is retried in place; any other retryable failure restarts
    the scroll from scratch (truncating the output), at most ``max_retries`` times."""
    restarts = 0
    keep = settings.pit_keep_alive
    while True:
        scroll_id: str | None = None
        try:
            body: dict[str, Any] = {"size": settings.batch_size, "sort": ["_doc"]}
            if query is not None:
                body["query"] = query
            resp = retrier.call(
                "search (scroll)",
                lambda body=body: _check_and_return(
                    client.transport.perform_request("POST", f"/{index}/_search", params={"scroll": keep}, body=body)
                ),
                index=index,
            )
            state["total"] = _total(resp)
            while True:
                scroll_id = resp.get("_scroll_id") or scroll_id
                hits = resp["hits"]["hits"]
                if not hits:
                    return
                writer.write_hits(hits)
                state["batches"] += 1
                writer.checkpoint({"method": "scroll", "pit_id": None, "search_after": None, "total": state["total"]})
                report()
                resp = _scroll_next(client, retrier, scroll_id, keep)
        except _RestartScroll as exc:
            if restarts >= settings.max_retries:
                raise SourceError(retrier.scrub(f"scroll over {index} on {retrier.url} kept failing: {exc}")) from exc
            restarts += 1
            retrier.retries += 1
            pause = retrier.delay(restarts - 1)
            log.warning("scroll over %s failed (%s); restarting from scratch in %.2fs", index, exc, pause)
            retrier.sleep(pause)
            writer.open(0, 0)
            state["batches"] = 0
        finally:
            if scroll_id:
                try:
                    client.transport.perform_request("DELETE", "/_search/scroll", body={"scroll_id": [scroll_id]})
                except TransportError as exc:
                    log.warning("could not clear scroll: %s", retrier.scrub(_describe(exc)))


def _scroll_next(client: OpenSearch, retrier: _Retrier, scroll_id: str, keep: str) -> Any:
    attempt = 0
    while True:
        try:
            return _check_and_return(
                client.transport.perform_request(
                    "POST", "/_search/scroll", body={"scroll": keep, "scroll_id": scroll_id}
                )
            )
        except (TransportError, _PartialResults) as exc:
            if isinstance(exc, TransportError) and exc.status_code == 429 and attempt < retrier.settings.max_retries:
                pause = retrier.delay(attempt)
                attempt += 1
                retrier.retries += 1
                log.warning("scroll page rejected (429); retry %d in %.2fs", attempt, pause)
                retrier.sleep(pause)
                continue
            expired = isinstance(exc, TransportError) and "search_context_missing_exception" in _root_types(exc)
            if is_retryable(exc) or expired:
                raise _RestartScroll(retrier.scrub(_describe(exc))) from exc
            raise retrier.error(exc, "scroll", None) from exc
