"""A small dbt-like engine: SQL models in ``dbt_like_sql/<group>/``, dependencies parsed with sqlglot.

Each ``<name>.sql`` is one SELECT (CTEs allowed). It reads raw sources as ``raw.<table>``
(``<dataset>.raw_<table>``) and other models of the group by bare name. ``models.yml`` declares::

    models:
      <name>:
        description: text
        materialized: table | incremental | view   # default: table
        partition_by: day                          # required for incremental, optional for view
        tests: [...]                               # see vigia.warehouse.data_tests

Incremental models rendered for given partition keys read only those partitions of their raw
sources (``raw.X`` becomes a subquery filtered on ``partition_by``). A view (dbt's usual choice for
staging models) stores nothing: materializing it (re)defines the view over all of its sources, so a
new day of raw data is visible through it at once; with ``partition_by`` it is a partitioned asset
whose data tests run on the requested partitions, evaluated once into a TEMP snapshot.
"""

from __future__ import annotations

import re
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import duckdb
import sqlglot
import yaml
from sqlglot import exp
from sqlglot.errors import ParseError
from sqlglot.optimizer.scope import traverse_scope

from vigia.warehouse.data_tests import (
    DataTestResult,
    DataTestSpec,
    DataTestSpecError,
    check_test_columns,
    data_test_scope,
    parse_tests,
    run_data_test,
)
from vigia.warehouse.duck import (
    preview_relation,
    replace_partitions,
    replace_table,
    replace_view,
    row_count,
    scoped_relation,
    select_columns,
    table_schema,
)

RAW_SCHEMA_ALIAS = "raw"
RAW_PREFIX = "raw_"
MODELS_FILE = "models.yml"
DIALECT = "duckdb"

Materialized = Literal["table", "incremental", "view"]
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_ISO_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MODEL_KEYS = frozenset({"description", "materialized", "partition_by", "tests"})


class SqlModelError(ValueError):
    """A model file, its declaration or its dependencies are invalid."""


@dataclass(frozen=True)
class SqlModel:
    """One SQL model of a group."""

    name: str
    path: Path
    sql: str
    description: str = ""
    materialized: Materialized = "table"
    partition_by: str | None = None
    tests: tuple[DataTestSpec, ...] = ()
    model_deps: frozenset[str] = frozenset()
    source_deps: frozenset[str] = frozenset()

    @property
    def is_incremental(self) -> bool:
        return self.materialized == "incremental"

    @property
    def is_partitioned(self) -> bool:
        """Incremental models, and views with ``partition_by``, are materialized per partition."""
        return self.is_incremental or (self.materialized == "view" and self.partition_by is not None)


@dataclass(frozen=True)
class ModelResult:
    """What :func:`materialize_model` did."""

    name: str
    dataset: str
    mode: Literal["table", "partitions", "view"]
    partition_keys: tuple[str, ...]
    rows_written: int
    rows_total: int | None  # None for views: counting would evaluate the whole view
    schema: list[tuple[str, str]]
    seconds: float


def raw_table_name(source: str) -> str:
    """Warehouse table holding raw source ``source`` (``conn`` -> ``raw_conn``)."""
    return f"{RAW_PREFIX}{source}"


def _parse_select(sql: str, path: Path) -> exp.Query:
    try:
        statements = [s for s in sqlglot.parse(sql, read=DIALECT) if s is not None]
    except ParseError as exc:
        raise SqlModelError(f"{path}: SQL does not parse: {exc}") from exc
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise SqlModelError(f"{path}: a model must be exactly one SELECT statement (CTEs allowed)")
    return statements[0]


def _table_refs(tree: exp.Expression) -> list[exp.Table]:
    """Physical table references (CTE references and table functions excluded)."""
    refs: list[exp.Table] = []
    for scope in traverse_scope(tree):
        for source in scope.sources.values():
            if isinstance(source, exp.Table) and isinstance(source.this, exp.Identifier):
                refs.append(source)
    return refs


def _is_source(ref: exp.Table) -> bool:
    """Whether ``ref`` is ``raw.<table>`` (identifiers are case-insensitive in DuckDB, quoted ones too)."""
    return ref.db.lower() == RAW_SCHEMA_ALIAS and not ref.catalog


def _classify(ref: exp.Table, model_names: set[str], path: Path, group: str) -> tuple[str, str]:
    """``("source", name)`` for ``raw.name``, ``("model", name)`` for a model (names lower-cased); error otherwise."""
    name = ref.name.lower()
    if ref.catalog:
        raise SqlModelError(f"{path}: table {ref.sql(DIALECT)!r} must not name a catalog")
    if ref.db:
        if _is_source(ref):
            return "source", name
        raise SqlModelError(
            f"{path}: table {ref.sql(DIALECT)!r} is qualified with {ref.db!r}; use raw.<table> or a model name"
        )
    if name not in model_names:
        raise SqlModelError(
            f"{path}: table {ref.name!r} is neither a model of group {group!r} "
            f"(models: {sorted(model_names)}) nor a raw.<table> source"
        )
    return "model", name


def extract_dependencies(
    sql: str, model_names: set[str], path: Path, group: str = ""
) -> tuple[frozenset[str], frozenset[str]]:
    """``(model_deps, source_deps)`` of one model's SQL."""
    models: set[str] = set()
    sources: set[str] = set()
    for ref in _table_refs(_parse_select(sql, path)):
        kind, name = _classify(ref, model_names, path, group)
        (models if kind == "model" else sources).add(name)
    return frozenset(models), frozenset(sources)


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that rejects a key given twice in one mapping (``safe_load`` keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Hashable] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # '<<' merges: later keys override on purpose
                continue
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):  # the parent reports it
                continue
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, f"found duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def _load_declarations(directory: Path) -> dict[str, dict[str, Any]]:
    path = directory / MODELS_FILE
    if not path.exists():
        return {}
    try:
        with path.open() as stream:  # errors then name the file and line
            raw = yaml.load(stream, Loader=_UniqueKeyLoader) or {}
    except yaml.YAMLError as exc:
        raise SqlModelError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(raw, dict) or set(raw) - {"models"}:
        raise SqlModelError(f"{path}: expected a single top-level 'models:' mapping")
    models = raw.get("models") or {}
    if not isinstance(models, dict):
        raise SqlModelError(f"{path}: 'models' must map model names to declarations")
    for name, decl in models.items():
        if decl is not None and not isinstance(decl, dict):
            raise SqlModelError(f"{path}: model {name!r}: declaration must be a mapping")
    return {str(k): v or {} for k, v in models.items()}


def _build_model(name: str, path: Path, decl: dict[str, Any], yml: Path) -> SqlModel:
    where = f"{yml}: model {name!r}"
    unknown = set(decl) - _MODEL_KEYS
    if unknown:
        raise SqlModelError(f"{where}: unknown keys {sorted(unknown)} (allowed: {sorted(_MODEL_KEYS)})")
    materialized = decl.get("materialized", "table")
    if materialized not in ("table", "incremental", "view"):
        raise SqlModelError(
            f"{where}: materialized must be 'table', 'incremental' or 'view', got {materialized!r}"
        )
    partition_by = decl.get("partition_by")
    if materialized == "incremental" and not partition_by:
        raise SqlModelError(f"{where}: incremental models need 'partition_by'")
    if partition_by is not None and not isinstance(partition_by, str):
        raise SqlModelError(f"{where}: partition_by must be a column name, got {partition_by!r}")
    description = decl.get("description", "")
    if not isinstance(description, str):
        raise SqlModelError(f"{where}: description must be text")
    try:
        tests = parse_tests(decl.get("tests"), context=where)
    except DataTestSpecError as exc:
        raise SqlModelError(str(exc)) from exc
    return SqlModel(
        name=name,
        path=path,
        sql=path.read_text(),
        description=description.strip(),
        materialized=materialized,
        partition_by=partition_by,
        tests=tuple(tests),
    )


def _toposort(models: dict[str, SqlModel]) -> list[SqlModel]:
    order: list[SqlModel] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, stack: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = [*stack[stack.index(name) :], name]
            raise SqlModelError(f"dependency cycle among models: {' -> '.join(cycle)}")
        state[name] = 1
        for dep in sorted(models[name].model_deps):
            visit(dep, [*stack, name])
        state[name] = 2
        order.append(models[name])

    for name in sorted(models):
        visit(name, [])
    return order


def discover_models(root: Path, group: str) -> list[SqlModel]:
    """Load ``root/<group>/*.sql`` with their ``models.yml`` declarations, in topological order."""
    directory = Path(root) / group
    if not directory.is_dir():
        raise SqlModelError(f"SQL model group directory {directory} does not exist")
    files = {p.stem: p for p in sorted(directory.glob("*.sql"))}
    for name, path in files.items():
        if not _NAME_RE.match(name) or name.startswith((RAW_PREFIX, "__")):
            raise SqlModelError(f"{path}: model names must be lower_snake_case and not start with 'raw_' or '__'")
    decls = _load_declarations(directory)
    orphans = sorted(set(decls) - set(files))
    if orphans:
        raise SqlModelError(f"{directory / MODELS_FILE}: declared models without a .sql file: {orphans}")
    names = set(files)
    models: dict[str, SqlModel] = {}
    for name, path in files.items():
        model = _build_model(name, path, decls.get(name, {}), directory / MODELS_FILE)
        model_deps, source_deps = extract_dependencies(model.sql, names, path, group)
        models[name] = replace(model, model_deps=model_deps, source_deps=source_deps)
    return _toposort(models)


def _key_literal(key: str) -> str:
    escaped = key.replace("'", "''")
    return f"DATE '{escaped}'" if _ISO_DAY_RE.match(key) else f"'{escaped}'"


def _filtered_source(table: exp.Table, partition_by: str, keys: Sequence[str], path: Path) -> exp.Expression:
    """``table`` as a subquery filtered to ``keys``; its alias (with columns), pivots and sample move onto it."""
    keys_sql = ", ".join(_key_literal(k) for k in keys) or "NULL"
    bare = exp.Table(this=table.this.copy(), db=table.args["db"].copy())
    select = sqlglot.parse_one(
        f"SELECT * FROM {bare.sql(DIALECT)} WHERE {exp.to_identifier(partition_by, quoted=True).sql(DIALECT)}"
        f" IN ({keys_sql})",
        read=DIALECT,
    )
    subquery = exp.Subquery(this=select)
    for arg, value in list(table.args.items()):
        if arg in ("this", "db") or not value:  # unset: None, False or []
            continue
        if arg not in ("alias", "pivots", "sample", "joins", "laterals"):
            raise SqlModelError(f"{path}: {table.sql(DIALECT)!r}: {arg!r} is not supported on a raw source")
        subquery.set(arg, value)
    return subquery


def render_model_sql(model: SqlModel, dataset: str, partition_keys: Sequence[str] | None = None) -> str:
    """DuckDB SQL for ``model`` in ``dataset``: ``raw.X`` -> ``"dataset"."raw_X"``, model ``m`` -> ``"dataset"."m"``.

    Only the table name of a reference changes: its alias (with a column list), PIVOT/UNPIVOT and
    TABLESAMPLE stay. With ``partition_keys`` and an incremental model, raw sources are filtered to those
    partitions.
    """
    tree = _parse_select(model.sql, model.path)
    filter_keys = partition_keys if model.is_incremental and partition_keys else None
    for ref in _table_refs(tree):  # renamed in place, so references nested in another's joins are kept
        is_source = _is_source(ref)
        name = ref.name.lower()
        if is_source and not ref.alias:
            ref.set("alias", exp.TableAlias(this=exp.to_identifier(ref.name)))
        ref.set("this", exp.to_identifier(raw_table_name(name) if is_source else name, quoted=True))
        ref.set("db", exp.to_identifier(dataset, quoted=True))
        if is_source and filter_keys and model.partition_by:
            ref.replace(_filtered_source(ref, model.partition_by, filter_keys, model.path))
    return tree.sql(dialect=DIALECT, pretty=True)


def materialize_model(
    con: duckdb.DuckDBPyConnection,
    model: SqlModel,
    dataset: str,
    partition_keys: Sequence[str] | None = None,
) -> ModelResult:
    """Build ``dataset.<model>``: incremental models with keys replace those partitions, views are
    (re)defined over all their sources, others are rebuilt.

    The data tests' columns are checked against the model's output first: a test naming a column the model
    no longer produces fails here (``ValueError``), leaving the previous relation intact.
    """
    start = time.perf_counter()
    keys = tuple(partition_keys or ())
    by_partition = model.is_incremental and bool(keys) and model.partition_by is not None
    sql = render_model_sql(model, dataset, keys if by_partition else None)
    check_test_columns(model.tests, [name for name, _ in select_columns(con, sql)], f"{dataset}.{model.name}")
    rows_total: int | None
    if model.materialized == "view":
        replace_view(con, dataset, model.name, sql)
        mode: Literal["table", "partitions", "view"] = "view"
        written, rows_total = 0, None
        keys = keys if model.is_partitioned else ()
    elif by_partition and model.partition_by:
        written = replace_partitions(con, dataset, model.name, model.partition_by, list(keys), sql)
        mode = "partitions"
        rows_total = row_count(con, dataset, model.name)
    else:
        written = replace_table(con, dataset, model.name, sql)
        mode, keys = "table", ()
        rows_total = row_count(con, dataset, model.name)
    return ModelResult(
        name=model.name,
        dataset=dataset,
        mode=mode,
        partition_keys=keys,
        rows_written=written,
        rows_total=rows_total,
        schema=table_schema(con, dataset, model.name),
        seconds=time.perf_counter() - start,
    )


@dataclass(frozen=True)
class ModelCheck:
    """Data tests of one materialization, with the rows they covered and a preview of them."""

    tests: list[DataTestResult]
    rows_in_scope: int
    preview: str
    seconds: float


def check_model(
    con: duckdb.DuckDBPyConnection,
    model: SqlModel,
    dataset: str,
    partition_keys: Sequence[str] | None = None,
    preview_rows: int = 10,
) -> ModelCheck:
    """Run the model's data tests on the materialized partitions (all rows when unpartitioned).

    A view is evaluated once into a TEMP snapshot that every test then reads, instead of once per test.
    """
    start = time.perf_counter()
    keys = list(partition_keys) if partition_keys and model.is_partitioned else None
    column = model.partition_by if keys else None
    scope = data_test_scope(con, dataset, model.name, model.tests, column, keys)
    with scoped_relation(con, dataset, model.name, scope) as (relation, where):
        results = [run_data_test(con, relation, where, t) for t in model.tests]
        rows = int(con.execute(f"SELECT count(*) FROM {relation} WHERE {where}").fetchall()[0][0])
        shown = preview_relation(con, relation, preview_rows, where=where)
    return ModelCheck(results, rows, shown, time.perf_counter() - start)
