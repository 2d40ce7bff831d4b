"""Reading a checkpoint written by `train`: one module that needs neither the loop nor a tracker,
so trackers and the CLI import it without a cycle."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from trainer.errors import UserError
from trainer.model import XrayCNN


def load_checkpoint(path: Path | str) -> tuple[XrayCNN, dict[str, Any]]:
    """Model (eval mode, CPU) and the checkpoint dict from a file written by `train`."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"checkpoint {path} is a folder, not a file; pass a checkpoint in it, e.g. {path / 'best.pt'}")
    if not path.is_file():
        raise UserError(f"checkpoint {path} does not exist")
    not_ours = f"{path} is not a checkpoint written by `python -m trainer train`"
    try:  # weights_only: a foreign pickle is refused, never run
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # any unpickling failure (text, .npy, whole-model pickle) means the same to the user
        reason = str(e).strip().splitlines()[0][:160] if str(e).strip() else ""
        raise UserError(f"{not_ours} (torch.load: {type(e).__name__}{': ' + reason if reason else ''})") from None
    if not (isinstance(ckpt, dict) and isinstance(ckpt.get("config"), dict) and "model" in ckpt):
        raise UserError(f"{not_ours}: it holds a {type(ckpt).__name__}, not a dict with 'model' and 'config'")
    try:
        model = XrayCNN(ckpt["config"]["image_size"], tuple(ckpt["config"]["dropout"]))
        model.load_state_dict(ckpt["model"])
    except (RuntimeError, KeyError, TypeError, ValueError, AttributeError) as e:
        raise UserError(f"{not_ours}: {type(e).__name__}: {e}") from None
    return model.eval(), ckpt
