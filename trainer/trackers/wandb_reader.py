"""Read a `.wandb` run file without a server: wandb 0.31 ships no Python reader.

Format: a 7-byte header (b":W&B", 2 magic bytes, version), then LevelDB-log
framing in 32 KiB blocks: each chunk has a 7-byte header (CRC32, uint16 length,
type FULL=1/FIRST=2/MIDDLE=3/LAST=4) and a piece of one serialized
`wandb_internal_pb2.Record`. A file cut short by a crash yields every complete record.
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from trainer.errors import UserError

HEADER_LEN, BLOCK, CHUNK_HEADER = 7, 32 * 1024, 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def records(path: Path | str) -> Iterator[Any]:
    from wandb.proto import wandb_internal_pb2 as pb
    data = Path(path).read_bytes()
    if data[:4] != b":W&B":
        raise UserError(f"{path} is not a W&B run file (no :W&B header)")
    pos, parts = HEADER_LEN, []
    while pos + CHUNK_HEADER <= len(data):
        left_in_block = BLOCK - pos % BLOCK
        if left_in_block < CHUNK_HEADER:  # block trailer padding
            pos += left_in_block
            continue
        _crc, length, kind = struct.unpack_from("<IHB", data, pos)
        start, pos = pos + CHUNK_HEADER, pos + CHUNK_HEADER + length
        if kind == 0 and length == 0 or pos > len(data):  # zero padding or a torn final write
            break
        parts.append(data[start:pos])
        if kind in (FULL, LAST):
            record = pb.Record()
            record.ParseFromString(b"".join(parts))
            parts = []
            yield record


def _value(item) -> Any:
    if item.value_json:
        return json.loads(item.value_json)
    which = item.WhichOneof("value")
    return getattr(item, which) if which and which != "none" else None


def _key(item) -> str:
    return item.key or "/".join(item.nested_key)


@dataclass
class WandbRun:
    path: Path
    run_id: str = ""
    project: str = ""
    group: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    stats: list[dict[str, Any]] = field(default_factory=list)  # system metrics samples (cpu, memory, gpu.*, ...)
    exit_code: int | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def metric(self, key: str) -> list[Any]:
        return [row[key] for row in self.history if key in row]


def read_run(path: Path | str) -> WandbRun:
    """History rows, config, summary, artifacts (with manifests) and files of one run file."""
    run = WandbRun(Path(path))
    for rec in records(path):
        kind = rec.WhichOneof("record_type")
        run.counts[kind] = run.counts.get(kind, 0) + 1
        if kind == "run":
            run.run_id, run.project, run.group = rec.run.run_id, rec.run.project, rec.run.run_group
            for item in rec.run.config.update:
                run.config[_key(item)] = _value(item)
        elif kind == "history":
            run.history.append({_key(item): _value(item) for item in rec.history.item})
        elif kind == "config":
            for item in rec.config.update:
                run.config[_key(item)] = _value(item)
        elif kind == "summary":
            for item in rec.summary.update:
                run.summary[_key(item)] = _value(item)
        elif kind == "artifact":
            a = rec.artifact
            run.artifacts.append({"name": a.name, "type": a.type, "aliases": list(a.aliases), "digest": a.digest,
                                  "metadata": json.loads(a.metadata or "{}"),
                                  "manifest": [{"path": e.path, "digest": e.digest, "size": e.size,
                                                "local_path": e.local_path} for e in a.manifest.contents]})
        elif kind == "files":
            run.files += [f.path for f in rec.files.files]
        elif kind == "stats":
            run.stats.append({_key(item): _value(item) for item in rec.stats.item})
        elif kind == "exit":
            run.exit_code = rec.exit.exit_code
    # config values are stored as {"value": v, "desc": ...}
    run.config = {k: v.get("value", v) if isinstance(v, dict) and "value" in v else v for k, v in run.config.items()}
    return run


def find_run_file(folder: Path | str) -> Path:
    """The `.wandb` file under a run folder (results/runs/<run>), its wandb/ folder, or an offline-run-* folder."""
    folder = Path(folder)
    if folder.is_file() and folder.suffix == ".wandb":
        return folder
    found = run_files(folder)
    if not found:
        raise UserError(f"no W&B run file (*.wandb) under {folder}")
    return found[-1]


def run_files(folder: Path | str) -> list[Path]:
    """Every `.wandb` file under a folder, oldest first: a resumed run adds one per process."""
    folder = Path(folder)
    if folder.is_file() and folder.suffix == ".wandb":
        return [folder]
    # offline-run-YYYYMMDD_HHMMSS-<id>: the folder name orders them by start time
    return sorted(folder.rglob("*.wandb"), key=lambda p: (p.parent.name, p.stat().st_mtime))


def read_folder(folder: Path | str) -> WandbRun:
    """One run from all its files, in order, as `wandb sync` joins them: history appended,
    config and summary updated, artifacts and files collected."""
    files = run_files(folder)
    if not files:
        raise UserError(f"no W&B run file (*.wandb) under {folder}")
    merged = WandbRun(Path(folder))
    for part in map(read_run, files):
        merged.run_id, merged.project = part.run_id or merged.run_id, part.project or merged.project
        merged.group = part.group or merged.group
        merged.config |= part.config
        merged.summary |= part.summary
        merged.history += part.history
        merged.artifacts += part.artifacts
        merged.files += part.files
        merged.stats += part.stats
        merged.exit_code = part.exit_code if part.exit_code is not None else merged.exit_code
        for kind, n in part.counts.items():
            merged.counts[kind] = merged.counts.get(kind, 0) + n
    return merged
