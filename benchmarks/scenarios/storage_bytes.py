"""Bytes a set of tracked runs occupies in each store, so per-run figures come
from many runs and are not page-granular:

- PostgreSQL: for every MLflow table that holds rows of a run, the bytes of those rows
  themselves: each row as stored (pg_column_size of the row, its header included) plus
  its line pointer, and for every index on the table one entry per row (index tuple
  header, the key columns' pg_column_size, alignment, line pointer). Measured from the
  rows, never from size deltas of the cluster: free space and bloat that earlier work
  left in the tables (dead rows, half-empty pages) do not count, so two runs of the
  same job give the same bytes;
- the bucket: the runs' artifact objects and their logged models' objects, by kind;
- W&B offline: the run folder, its .wandb file and its media files.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# table -> the rows that belong to the runs in %(ids)s (a text[] of run ids)
_MODELS = "model_id IN (SELECT model_id FROM logged_models WHERE source_run_id = ANY(%(ids)s))"
RUN_ROWS = {
    "runs": "run_uuid = ANY(%(ids)s)",
    "metrics": "run_uuid = ANY(%(ids)s)",
    "latest_metrics": "run_uuid = ANY(%(ids)s)",
    "params": "run_uuid = ANY(%(ids)s)",
    "tags": "run_uuid = ANY(%(ids)s)",
    "inputs": "source_id = ANY(%(ids)s) OR destination_id = ANY(%(ids)s)",
    "logged_models": "source_run_id = ANY(%(ids)s)",
    "logged_model_metrics": "run_id = ANY(%(ids)s)",
    "logged_model_params": _MODELS,
    "logged_model_tags": _MODELS,
    "model_versions": "run_id = ANY(%(ids)s)",
}
BUCKET_KINDS = ("checkpoint", "model", "plots", "tables", "other")
LINE_POINTER = 4        # bytes: a heap or index page's item pointer for each tuple
INDEX_TUPLE_HEADER = 8  # bytes: IndexTupleData (heap pointer + info)
ALIGN = 8               # MAXALIGN on 64-bit builds


@dataclass(frozen=True)
class RelationBytes:
    """One table's bytes attributed to the runs measured."""
    table: str
    rows: int             # the runs' rows
    tuple_bytes: int      # their pg_column_size sum (the data itself)
    table_bytes: float    # the rows as stored: tuple bytes + a line pointer each
    index_bytes: float    # their entries in every index of the table


def postgres_bytes_of_runs(conn, run_ids: list[str]) -> list[RelationBytes]:
    """Table and index bytes of `run_ids`, table by table (tables absent from this schema are skipped)."""
    out = []
    with conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        present = {r[0] for r in cur.fetchall()}
        for table, where in RUN_ROWS.items():
            if table not in present:
                continue
            cur.execute(f"SELECT count(*), coalesce(sum(pg_column_size(t.*)), 0) FROM {table} t WHERE {where}",
                        {"ids": list(run_ids)})
            rows, mine = cur.fetchone()
            index = sum(_index_entry_bytes(cur, table, columns, where, run_ids) for columns in _index_columns(cur, table))
            out.append(RelationBytes(table, rows, int(mine), float(mine + rows * LINE_POINTER), float(index)))
    return out


def _index_columns(cur, table: str) -> list[list[str]]:
    """The key columns of each index on `table` (expression indexes, which have none, are skipped)."""
    cur.execute("SELECT i.indexrelid, array_agg(a.attname ORDER BY k.ord) FROM pg_index i "
                "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
                "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
                "WHERE i.indrelid = %s::regclass GROUP BY i.indexrelid", (table,))
    return [list(cols) for _, cols in cur.fetchall()]


def _index_entry_bytes(cur, table: str, columns: list[str], where: str, run_ids: list[str]) -> int:
    """The runs' entries in one index: header + key columns, aligned, + line pointer, per row."""
    key = " + ".join(f'coalesce(pg_column_size(t."{c}"), 0)' for c in columns)
    cur.execute(f"SELECT coalesce(sum(((({INDEX_TUPLE_HEADER} + {key}) + {ALIGN - 1}) / {ALIGN}) * {ALIGN} "
                f"+ {LINE_POINTER}), 0) FROM {table} t WHERE {where}", {"ids": list(run_ids)})
    return int(cur.fetchone()[0])


def logged_model_ids(conn, run_ids: list[str]) -> list[str]:
    with conn.cursor() as cur:
        cur.execute("SELECT model_id FROM logged_models WHERE source_run_id = ANY(%(ids)s)", {"ids": list(run_ids)})
        return [r[0] for r in cur.fetchall()]


def bucket_kind(key: str) -> str:
    """What an artifact object is, from its key (run artifacts: <exp>/<run>/artifacts/<folder>/...;
    logged models: <exp>/models/<model id>/artifacts/...)."""
    parts = PurePosixPath(key).parts
    name = parts[-1].lower()
    if "models" in parts[:2] or "model" in parts:
        return "model"
    if "checkpoints" in parts or name.endswith((".pt", ".pth", ".ckpt")):
        return "checkpoint"
    if name.endswith((".png", ".jpg", ".jpeg", ".svg", ".html")):
        return "plots"
    if name.endswith((".json", ".csv", ".parquet")):
        return "tables"
    return "other"


def bucket_bytes_of_runs(s3, bucket: str, experiment_id: str, run_ids: list[str],
                         model_ids: list[str]) -> dict[str, tuple[int, int]]:
    """kind -> (bytes, objects) under the runs' artifact folders and their logged models' folders."""
    prefixes = [f"{experiment_id}/{r}/" for r in run_ids] + [f"{experiment_id}/models/{m}/" for m in model_ids]
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for prefix in prefixes:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                t = totals[bucket_kind(obj["Key"])]
                t[0] += obj["Size"]
                t[1] += 1
    return {k: (totals[k][0], totals[k][1]) for k in BUCKET_KINDS if k in totals}


@dataclass(frozen=True)
class WandbFolderBytes:
    """An offline W&B run folder: what the client wrote to disk."""
    folder: int           # everything
    run_file: int         # the .wandb file (history, config, summary, records)
    media: int            # files/media: images, tables, plots


def wandb_folder_bytes(run_folder: Path) -> WandbFolderBytes:
    run_folder = Path(run_folder)
    files = [p for p in run_folder.rglob("*") if p.is_file()]
    media_root = run_folder / "files" / "media"
    return WandbFolderBytes(folder=sum(p.stat().st_size for p in files),
                            run_file=sum(p.stat().st_size for p in files if p.suffix == ".wandb"),
                            media=sum(p.stat().st_size for p in files if media_root in p.parents))
