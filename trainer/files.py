"""Writing files so that a kill mid-write leaves the previous version or nothing, never half a file,
and a full disk says so in one line (`NoSpaceLeft`, a UserError) instead of a traceback."""
from __future__ import annotations

import errno
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from trainer.errors import UserError

FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
# torch.save reports a failed write without an errno ("[enforce fail at inline_container.cc] unexpected
# pos ..."): with nearly nothing free on the device it is taken to mean a full disk
NEARLY_FULL_BYTES = 1 << 20
TORCH_WRITE_FAILED = ("unexpected pos", "file write failed", "failed writing")


class NoSpaceLeft(UserError):
    """The device holding `path` is full (or the user's quota is spent)."""

    def __init__(self, path: Path | str, advice: str = "free some space and run it again") -> None:
        self.path, self.advice = Path(path), advice
        super().__init__(f"no space left on the device holding {self.path} ({_free(self.path)} free): {advice}")


def _free_bytes(path: Path) -> int | None:
    folder = next((p for p in (path, *path.parents) if p.is_dir()), None)
    try:
        return shutil.disk_usage(folder).free if folder else None
    except OSError:
        return None


def _free(path: Path) -> str:
    free = _free_bytes(path)
    return "unknown" if free is None else f"{free / 2**20:.1f} MiB"


def is_disk_full(error: BaseException, path: Path) -> bool:
    if isinstance(error, OSError):
        return error.errno in FULL_ERRNOS
    if isinstance(error, RuntimeError) and any(m in str(error) for m in TORCH_WRITE_FAILED):
        free = _free_bytes(path)
        return free is not None and free < NEARLY_FULL_BYTES
    return False


@contextmanager
def space_checked(path: Path | str) -> Iterator[None]:
    """A write to `path` that fails because its device is full raises NoSpaceLeft naming `path`."""
    try:
        yield
    except (OSError, RuntimeError) as e:
        if is_disk_full(e, Path(path)):
            raise NoSpaceLeft(path) from None
        raise


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """`write` fills a temporary file beside `path` (its pid in the name: concurrent writers never
    share one), then it replaces `path` in one rename. On a full disk the temporary file goes and
    the previous `path` stays."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        tmp.replace(path)
    except (OSError, RuntimeError) as e:
        full = is_disk_full(e, path)  # before the temporary file goes: free space is what the write left
        tmp.unlink(missing_ok=True)
        if full:
            raise NoSpaceLeft(path) from None
        raise
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_json(data: Any, path: Path) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2, sort_keys=False)))
