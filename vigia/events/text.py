"""Vectorised text features of HTTP request strings (path, query, body, user agent).

Every function returns polars expressions (no per-row Python). Per string field ``f``:

* ``f_len``: characters; ``f_entropy``: Shannon entropy in bits (:func:`vigia.features.text.shannon_entropy_expr`);
* ``f_letter_ratio``, ``f_digit_ratio``, ``f_special_ratio`` (neither letter, digit nor whitespace),
  ``f_upper_ratio``, ``f_nonascii_ratio``, ``f_pct_ratio`` (percent-encoded ``%XX`` triplets): counts
  divided by the length (0.0 for the empty string);

and over the whole payload (path + query + body, lower-cased, ``+`` read as a space, the usual
percent-encodings of the dangerous characters decoded) counts of the :data:`SPECIAL_TOKENS`; the
:data:`RAW_TOKENS` among them (``tok_pct27``, the encoded quote) are counted before decoding.

:func:`compact_shape_expr` is the "shape" of a string (letters -> ``a``, digit runs -> ``9``,
letter runs collapsed, percent-encoded Latin-1 letters read as letters) used by the pattern-frequency
features and the token-novelty model.
"""

from __future__ import annotations

import polars as pl

from vigia.features.text import shannon_entropy_expr

TEXT_STATS = (
    "len",
    "entropy",
    "letter_ratio",
    "digit_ratio",
    "special_ratio",
    "upper_ratio",
    "nonascii_ratio",
    "pct_ratio",
)

# name -> regex counted (non-overlapping) in the normalised payload (see payload_expr).
SPECIAL_TOKENS: dict[str, str] = {
    "tok_quote": r"['\"`]",
    "tok_comment": r"--|#|/\*",
    "tok_semicolon": r";",
    "tok_lt": r"<",
    "tok_gt": r">",
    "tok_traversal": r"\.\./|\.\.\\",
    "tok_pct27": r"%27",
    "tok_script": r"script",
    "tok_select": r"select",
    "tok_union": r"union",
    "tok_or_true": r"\bor\s*['\"]?\s*\w+['\"]?\s*=\s*['\"]?\w+",
    "tok_sql_kw": r"\b(?:insert|update|delete|drop|exec|sleep|benchmark|waitfor|from|where|having|concat)\b",
    "tok_js": r"javascript:|onerror|onload|alert\(|document\.|eval\(",
    "tok_shell": r"\|\||&&|\$\(|`|/etc/passwd|/bin/|cmd\.exe",
    "tok_null_crlf": r"%00|%0d|%0a|\x00|\r|\n",
    "tok_paren": r"[()]",
}

# Counted on the lower-cased payload BEFORE decoding (decoding turns every %27 into a quote).
RAW_TOKENS = ("tok_pct27",)

# Percent-encodings decoded before counting tokens (so %3Cscript%3E counts as <script>).
_DECODE = {
    "%27": "'",
    "%22": '"',
    "%3c": "<",
    "%3e": ">",
    "%3b": ";",
    "%2f": "/",
    "%5c": "\\",
    "%2e": ".",
    "%28": "(",
    "%29": ")",
    "%3d": "=",
    "%20": " ",
    "%23": "#",
    "%7c": "|",
    "%26": "&",
    "%60": "`",
    "%24": "$",
}


def text_stat_exprs(col: str, prefix: str | None = None) -> list[pl.Expr]:
    """The eight :data:`TEXT_STATS` of string column ``col`` (nulls read as ``""``) named ``{prefix}_{stat}``."""
    p = prefix or col
    s = pl.col(col).fill_null("")
    n = s.str.len_chars().cast(pl.Float64)
    denom = pl.when(n > 0).then(n).otherwise(1.0)

    def ratio(pattern: str) -> pl.Expr:
        return s.str.count_matches(pattern).cast(pl.Float64) / denom

    return [
        n.alias(f"{p}_len"),
        shannon_entropy_expr(s).alias(f"{p}_entropy"),
        ratio(r"\p{L}").alias(f"{p}_letter_ratio"),
        ratio(r"\p{Nd}").alias(f"{p}_digit_ratio"),
        ratio(r"[^\p{L}\p{Nd}\s]").alias(f"{p}_special_ratio"),
        ratio(r"\p{Lu}").alias(f"{p}_upper_ratio"),
        ratio(r"[^\x00-\x7F]").alias(f"{p}_nonascii_ratio"),
        ratio(r"%[0-9A-Fa-f]{2}").alias(f"{p}_pct_ratio"),
    ]


def raw_payload_expr(*cols: str) -> pl.Expr:
    """Lower-cased concatenation of ``cols`` (space separated), nothing decoded."""
    return pl.concat_str([pl.col(c).fill_null("") for c in cols], separator=" ").str.to_lowercase()


def payload_expr(*cols: str) -> pl.Expr:
    """Lower-cased concatenation of ``cols`` (space separated), ``+`` -> space, dangerous %XX decoded."""
    s = raw_payload_expr(*cols).str.replace_all("+", " ", literal=True)
    for enc, dec in _DECODE.items():
        s = s.str.replace_all(enc, dec, literal=True)
    return s


def token_count_exprs(payload: pl.Expr, raw: pl.Expr | None = None) -> list[pl.Expr]:
    """Counts of every :data:`SPECIAL_TOKENS` pattern in an already normalised payload expression; the
    :data:`RAW_TOKENS` in ``raw`` (the undecoded payload, :func:`raw_payload_expr`) when given."""
    return [
        (raw if raw is not None and name in RAW_TOKENS else payload).str.count_matches(rx).cast(pl.Float64).alias(name)
        for name, rx in SPECIAL_TOKENS.items()
    ]


def compact_shape_expr(col: pl.Expr) -> pl.Expr:
    """Case-insensitive compact shape: Latin-1 ``%C0``-``%FF`` and letter runs -> ``a``, digit runs -> ``9``.

    ``"Juan+P%E9rez"`` -> ``"a+a"``, ``"ch0n3747"`` -> ``"a9a9"``, ``"1' OR 1=1"`` -> ``"9' a 9=9"``.
    """
    return (
        col.fill_null("")
        .str.replace_all(r"%[C-Fc-f][0-9A-Fa-f]", "a")
        .str.replace_all(r"\p{L}+", "a")
        .str.replace_all(r"\p{Nd}+", "9")
    )


PATH_TEMPLATE_RULES: tuple[tuple[str, str], ...] = (
    (r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", "{uuid}"),
    (r"/[0-9]+(?:/|$)", "/{n}/"),
    (r"/[0-9a-fA-F]{12,}(?:/|$)", "/{hex}/"),
)


def path_template_expr(col: pl.Expr) -> pl.Expr:
    """URL path with ids normalised: UUIDs -> ``{uuid}``, hex ids -> ``{hex}``, numeric segments -> ``{n}``.

    ``/api/orders/123/items`` -> ``/api/orders/{n}/items``. Trailing slashes added by the rules are removed
    (the root ``/`` is kept).
    """
    e = col.fill_null("")
    for rx, rep in PATH_TEMPLATE_RULES:
        # applied twice so consecutive id segments (/1/2) are both replaced
        e = e.str.replace_all(rx, rep).str.replace_all(rx, rep)
    return (
        pl.when(e.str.len_chars() > 1)
        .then(e.str.strip_suffix("/"))
        .otherwise(e)
        .str.replace_all("//", "/", literal=True)
    )


UA_FAMILIES: tuple[tuple[str, str], ...] = (
    (r"(?i)bot|crawl|spider|slurp", "bot"),
    (r"(?i)sqlmap|nikto|nmap|masscan|zgrab|nuclei|wpscan|dirbuster|gobuster", "scanner"),
    (r"(?i)^curl/", "curl"),
    (r"(?i)^wget/", "wget"),
    (r"(?i)python-requests|python-urllib|aiohttp|httpx", "python"),
    (r"(?i)go-http-client", "go"),
    (r"(?i)okhttp|dalvik|android", "android"),
    (r"(?i)java/|apache-httpclient", "java"),
    (r"(?i)postman", "postman"),
    (r"Edg/", "edge"),
    (r"Firefox/", "firefox"),
    (r"Chrome/", "chrome"),
    (r"Safari/", "safari"),
    (r"MSIE|Trident/", "ie"),
    (r"Konqueror", "konqueror"),
    (r"^Mozilla/", "mozilla_other"),
)


def ua_family_expr(col: pl.Expr) -> pl.Expr:
    """Coarse user-agent family (first matching rule of :data:`UA_FAMILIES`; ``none`` if empty, else ``other``)."""
    c = col.fill_null("")
    expr = pl.when(c == "").then(pl.lit("none"))
    for rx, fam in UA_FAMILIES:
        expr = expr.when(c.str.contains(rx)).then(pl.lit(fam))
    return expr.otherwise(pl.lit("other"))
