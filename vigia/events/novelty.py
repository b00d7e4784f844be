"""Token-level novelty of HTTP requests against normal training requests (a one-class "vocabulary" model).

A request is split into items, each compared with what NORMAL training requests contained:

* ``method|path_template`` never seen (e.g. PUT on a page only ever read with GET/POST);
* ``path_template|param`` never seen (a parameter the endpoint never received);
* ``path_template|param=shape`` never seen, with the case-insensitive compact shape of the value
  (:func:`vigia.events.text.compact_shape_expr`: ``"P%E9rez"`` -> ``a``, ``"1' OR 1=1"`` -> ``9' a 9=9``);
* value length outside the training ``[min, max]`` of that ``path_template|param``.

Parameters come from the query string and from form-encoded bodies (``a=1&b=2``); a JSON body
contributes its ``"key": value`` pairs; any other body is one parameter named ``__body__``.

The score of a request is the number of novel items (an integer >= 0). Nothing but normal requests is
needed to fit it; it is a set-membership model, so it only flags what differs in STRUCTURE from normal
values (new names, new character classes, punctuation, lengths), not new values of a known shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from vigia.events.text import compact_shape_expr, path_template_expr

NOVELTY_KINDS = ("novel_method_path", "novel_param", "novel_shape", "novel_length")
_JSON_PAIR = r'"[^"\\]{1,64}"\s*:\s*(?:"(?:[^"\\]|\\.)*"|[^,}\]]*)'


def _params(events: pl.LazyFrame) -> pl.LazyFrame:
    """One row per (request row index ``_rid``, param name, raw value)."""
    body = pl.col("body").fill_null("")
    is_json = body.str.strip_chars_start().str.starts_with("{") | body.str.strip_chars_start().str.starts_with("[")
    is_form = ~is_json & body.str.contains(r"^[^=&\s]+=[^\s]*(?:&[^=&\s]+=[^\s]*)*$")
    kv_query = pl.col("query").fill_null("").str.split("&")
    kv_body = pl.when(is_form).then(body.str.split("&")).otherwise(pl.lit([], dtype=pl.List(pl.String)))
    form = events.select("_rid", "path_template", pl.concat_list(kv_query, kv_body).alias("kv")).explode("kv")
    form = form.filter(pl.col("kv").is_not_null() & (pl.col("kv") != "")).select(
        "_rid",
        "path_template",
        pl.col("kv").str.split_exact("=", 1).struct.field("field_0").alias("name"),
        pl.col("kv").str.split_exact("=", 1).struct.field("field_1").fill_null("").alias("value"),
    )
    json_pairs = (
        events.filter(is_json)
        .select("_rid", "path_template", body.str.extract_all(_JSON_PAIR).alias("kv"))
        .explode("kv")
        .filter(pl.col("kv").is_not_null())
        .select(
            "_rid",
            "path_template",
            pl.col("kv").str.extract(r'^"([^"]*)"', 1).alias("name"),
            pl.col("kv").str.replace(r'^"[^"]*"\s*:\s*', "").alias("value"),
        )
    )
    other = events.filter(~is_json & ~is_form & (body != "")).select(
        "_rid", "path_template", pl.lit("__body__").alias("name"), body.alias("value")
    )
    return pl.concat([form, json_pairs, other], how="vertical_relaxed").with_columns(
        (pl.col("path_template") + "|" + pl.col("name")).alias("pn"),
        compact_shape_expr(pl.col("value").str.slice(0, 512)).alias("shape"),
        pl.col("value").str.len_chars().alias("vlen"),
    )


def _prepare(events: pl.DataFrame) -> pl.LazyFrame:
    lf = events.lazy().with_row_index("_rid")
    cols = lf.collect_schema().names()
    lf = lf.with_columns(pl.lit(None, pl.String).alias(c) for c in ("query", "body", "method") if c not in cols)
    return lf.with_columns(
        path_template_expr(pl.col("path")).alias("path_template"),
        pl.col("method").fill_null("").str.to_uppercase().alias("method"),
    )


@dataclass
class TokenNoveltyModel:
    """Vocabulary of normal requests (see module docstring)."""

    method_paths: frozenset[str]
    params: frozenset[str]
    shapes: frozenset[str]
    lengths: dict[str, tuple[int, int]]
    n_train: int

    @classmethod
    def fit(cls, train_events: pl.DataFrame) -> TokenNoveltyModel:
        """Learn the vocabulary from ``train_events`` (normal requests only)."""
        if train_events.height == 0:
            raise ValueError("cannot fit a token novelty model on zero events")
        lf = _prepare(train_events)
        mp = lf.select((pl.col("method") + " " + pl.col("path_template")).unique()).collect().to_series()
        p = _params(lf).collect()
        lengths = p.group_by("pn").agg(pl.col("vlen").min().alias("lo"), pl.col("vlen").max().alias("hi"))
        return cls(
            method_paths=frozenset(mp.to_list()),
            params=frozenset(p["pn"].unique().to_list()),
            shapes=frozenset((p["pn"] + "=" + p["shape"]).unique().to_list()),
            lengths={k: (int(lo), int(hi)) for k, lo, hi in lengths.iter_rows()},
            n_train=train_events.height,
        )

    def components(self, events: pl.DataFrame) -> pl.DataFrame:
        """Per request the counts of each novelty kind (:data:`NOVELTY_KINDS`) and their sum ``novelty``."""
        lf = _prepare(events)
        base = lf.select(
            "_rid",
            (
                ~(pl.col("method") + " " + pl.col("path_template")).is_in(
                    pl.Series(list(self.method_paths), dtype=pl.String).implode()
                )
            )
            .cast(pl.Int32)
            .alias("novel_method_path"),
        )
        lengths = pl.DataFrame(
            {
                "pn": list(self.lengths),
                "lo": [v[0] for v in self.lengths.values()],
                "hi": [v[1] for v in self.lengths.values()],
            },
            schema={"pn": pl.String, "lo": pl.Int64, "hi": pl.Int64},
        ).lazy()
        params_s = pl.Series(list(self.params), dtype=pl.String).implode()
        shapes_s = pl.Series(list(self.shapes), dtype=pl.String).implode()
        p = (
            _params(lf)
            .join(lengths, on="pn", how="left")
            .with_columns(
                (~pl.col("pn").is_in(params_s)).alias("np"),
                (~(pl.col("pn") + "=" + pl.col("shape")).is_in(shapes_s)).alias("ns"),
            )
            .group_by("_rid")
            .agg(
                pl.col("np").sum().cast(pl.Int32).alias("novel_param"),
                (pl.col("ns") & ~pl.col("np")).sum().cast(pl.Int32).alias("novel_shape"),
                ((pl.col("vlen") < pl.col("lo")) | (pl.col("vlen") > pl.col("hi")))
                .fill_null(False)
                .sum()
                .cast(pl.Int32)
                .alias("novel_length"),
            )
        )
        out = base.join(p, on="_rid", how="left").sort("_rid").fill_null(0).drop("_rid")
        return out.with_columns(pl.sum_horizontal(NOVELTY_KINDS).alias("novelty")).collect()

    def score(self, events: pl.DataFrame) -> np.ndarray:
        """Number of novel items per request (float64; higher = more anomalous)."""
        return self.components(events)["novelty"].to_numpy().astype(np.float64)
