"""Fast writers for conn frames (``CONN_COLUMNS`` layout): genuine Zeek TSV and Zeek JSON logs."""

from __future__ import annotations

import datetime as dt
import gzip as gzip_module
from pathlib import Path

import polars as pl

ZEEK_CONN_FIELDS: tuple[str, ...] = (
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
    "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history",
    "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents",
)
ZEEK_CONN_TYPES: tuple[str, ...] = (
    "time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count", "count", "string",
    "bool", "bool", "count", "string", "count", "count", "count", "count", "set[string]",
)
LABEL_FIELDS: tuple[str, ...] = ("label", "detailed-label")
_STRING_COLUMNS = ("uid", "orig_h", "resp_h", "proto", "service", "conn_state", "history", "attack_type")


def _is_local(col: str) -> pl.Expr:
    c = pl.col(col)
    return c.str.starts_with("10.") | c.str.starts_with("192.168.") | c.str.contains(r"^172\.(1[6-9]|2\d|3[01])\.")


def _zeek_frame(df: pl.DataFrame, labels: bool, ts_as_text: bool) -> pl.DataFrame:
    us = pl.col("ts").dt.epoch("us")
    ts = (
        pl.format("{}.{}", us // 1_000_000, (us % 1_000_000).cast(pl.String).str.zfill(6))
        if ts_as_text
        else us.cast(pl.Float64) / 1e6
    )
    bool_text = {True: "T", False: "F"}
    cols = [
        ts.alias("ts"),
        pl.col("uid"),
        pl.col("orig_h").alias("id.orig_h"),
        pl.col("orig_p").alias("id.orig_p"),
        pl.col("resp_h").alias("id.resp_h"),
        pl.col("resp_p").alias("id.resp_p"),
        *(pl.col(c) for c in ("proto", "service", "duration", "orig_bytes", "resp_bytes", "conn_state")),
        _is_local("orig_h").replace_strict(bool_text, return_dtype=pl.String).alias("local_orig"),
        _is_local("resp_h").replace_strict(bool_text, return_dtype=pl.String).alias("local_resp"),
        *(pl.col(c) for c in ("missed_bytes", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes")),
        pl.lit(None, dtype=pl.String).alias("tunnel_parents"),
    ]
    if labels:
        cols += [
            pl.col("label").replace_strict({0: "Benign", 1: "Malicious"}, default=None, return_dtype=pl.String),
            pl.col("attack_type").alias("detailed-label"),
        ]
    return df.select(cols)


def _header(fields: list[str], types: list[str], opened: str) -> str:
    return "".join(
        [
            "#separator \\x09\n",
            "#set_separator\t,\n",
            "#empty_field\t(empty)\n",
            "#unset_field\t-\n",
            "#path\tconn\n",
            f"#open\t{opened}\n",
            "#fields\t" + "\t".join(fields) + "\n",
            "#types\t" + "\t".join(types) + "\n",
        ]
    )


def _stamp(df: pl.DataFrame, last: bool) -> str:
    if df.height == 0:
        return "1970-01-01-00-00-00"
    value = df["ts"].max() if last else df["ts"].min()
    assert isinstance(value, dt.datetime)
    return value.strftime("%Y-%m-%d-%H-%M-%S")


def write_zeek_tsv(df: pl.DataFrame, path: str | Path, gzip: bool = False, labels: bool = True) -> Path:
    """Write a genuine Zeek TSV conn.log (``#`` header, ``-`` unset, ``(empty)`` empty, ``#close``)."""
    path = Path(path)
    out = _zeek_frame(df, labels, ts_as_text=True).with_columns(
        pl.col(pl.String).replace("", "(empty)")
    )
    fields = list(ZEEK_CONN_FIELDS) + (list(LABEL_FIELDS) if labels else [])
    types = list(ZEEK_CONN_TYPES) + (["string", "string"] if labels else [])
    with gzip_module.open(path, "wb", compresslevel=3) if gzip else path.open("wb") as fh:
        fh.write(_header(fields, types, _stamp(df, last=False)).encode())
        out.write_csv(fh, separator="\t", include_header=False, null_value="-", quote_style="never",
                      float_precision=6)
        fh.write(f"#close\t{_stamp(df, last=True)}\n".encode())
    return path


def write_zeek_json(df: pl.DataFrame, path: str | Path, labels: bool = True) -> Path:
    """Write Zeek JSON logs: one object per line, keys like ``id.orig_h``, ``ts`` as epoch seconds."""
    path = Path(path)
    _zeek_frame(df, labels, ts_as_text=False).drop("tunnel_parents").write_ndjson(path)
    return path
