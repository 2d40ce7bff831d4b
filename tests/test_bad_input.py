"""Bad input through the CLI, as a user meets it: one clear message naming the
file or value, a non-zero exit, no traceback, nothing half-written."""
import shutil
import subprocess
import sys

import pytest

from trainer.config import DEFAULT_CONFIG
from trainer.synthetic import make_dataset


@pytest.fixture(scope="module")
def good_data(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("d") / "data", per_class=8, size=40)


def _damaged(good, tmp_path, damage):
    root = tmp_path / "data"
    shutil.copytree(good, root)
    damage(root)
    return root


CASES = {
    "empty data folder": (lambda r: [shutil.rmtree(p) for p in r.iterdir()], "has no class folders"),
    "class folder missing": (lambda r: shutil.rmtree(r / "test" / "Normal"), "has no folder for class(es) 'Normal'"),
    "only corrupt images in a class": (
        lambda r: [p.write_bytes(b"\x00" * 10) for p in (r / "train" / "Viral Pneumonia").iterdir()],
        "no readable train images for class(es) 'Viral Pneumonia'"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_data_stops_cleanly(case, good_data, tmp_path):
    damage, message = CASES[case]
    root = _damaged(good_data, tmp_path, damage)
    out = subprocess.run([sys.executable, "-m", "trainer", "train", "--data", str(root), "--epochs", "1",
                          "--image-size", "24", "--out-dir", str(tmp_path / "runs"), "--cache-dir", str(tmp_path / "c")],
                         capture_output=True, text=True)
    assert out.returncode == 2, out.stderr
    assert message in out.stderr and str(root) in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("edit, message", [
    (lambda t: t + "learning_rate: 0.1\n", "unknown key 'learning_rate'"),
    (lambda t: t + "epoch: 3\n", "unknown key 'epoch'; did you mean 'epochs'?"),
    (lambda t: t.replace("epochs: 50", "epochs: many"), "epochs must be a whole number, got 'many'"),
    (lambda t: "epochs: ten\n", "epochs must be a whole number, got 'ten'"),
    (lambda t: t + "batch_size: [\n", "is not valid YAML"),
])
def test_bad_config_file_names_the_file_and_key(edit, message, tmp_path, good_data):
    bad = tmp_path / "train.yaml"
    bad.write_text(edit(DEFAULT_CONFIG.read_text()))
    out = subprocess.run([sys.executable, "-m", "trainer", "train", "--config", str(bad), "--data", str(good_data),
                          "--out-dir", str(tmp_path / "runs")], capture_output=True, text=True)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert str(bad) in out.stderr and message in out.stderr
    assert not (tmp_path / "runs").exists()


def _not_checkpoints(folder):
    """Files a user may pass to `evaluate --model` that no `train` wrote."""
    import numpy as np
    import pickle
    import torch
    from trainer.model import XrayCNN
    made = {"whole-model pickle": folder / "model.pt", "plain pickle": folder / "plain.pt",
            "renamed .npy": folder / "array.pt", "bare tensor": folder / "tensor.pt", "text file": folder / "notes.pt",
            "other torch dict": folder / "state.pt", "a folder": folder / "run"}
    torch.save({"state_dict": XrayCNN(32).state_dict()}, made["other torch dict"])
    torch.save(XrayCNN(32), made["whole-model pickle"])
    made["plain pickle"].write_bytes(pickle.dumps({"a": {1, 2}}))
    np.save(folder / "array.npy", np.zeros(3))
    (folder / "array.npy").rename(made["renamed .npy"])
    torch.save(torch.zeros(3), made["bare tensor"])
    made["text file"].write_text("epoch 1: loss 0.5\n")
    made["a folder"].mkdir()
    return made


@pytest.mark.parametrize("case, message", [
    ("whole-model pickle", "is not a checkpoint written by `python -m trainer train` (torch.load: UnpicklingError"),
    ("plain pickle", "is not a checkpoint written by `python -m trainer train` (torch.load:"),
    ("other torch dict", "is not a checkpoint written by `python -m trainer train`: it holds a dict"),
    ("renamed .npy", "is not a checkpoint written by `python -m trainer train` (torch.load:"),
    ("bare tensor", "is not a checkpoint written by `python -m trainer train`: it holds a Tensor"),
    ("text file", "is not a checkpoint written by `python -m trainer train` (torch.load:"),
    ("a folder", "is a folder, not a file; pass a checkpoint in it"),
])
def test_evaluate_refuses_what_is_no_checkpoint(case, message, tmp_path, good_data, capsys):
    from trainer.cli import main
    model = _not_checkpoints(tmp_path)[case]
    assert main(["evaluate", "--model", str(model), "--data", str(good_data)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: checkpoint {model}" if case == "a folder" else f"error: {model}")
    assert message in err


@pytest.mark.parametrize("flag, where, message", [
    ("--out-dir", "file/runs", "--out-dir {p} cannot be created: {f} is a file"),
    ("--cache-dir", "file/cache", "--cache-dir {p} cannot be created: {f} is a file"),
    ("--device", None, "device=cuda was asked for, but torch sees no CUDA GPU"),
])
def test_what_can_be_checked_is_checked_before_decoding(flag, where, message, tmp_path, good_data, capsys):
    import torch
    from trainer.cli import main
    if where is None and torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    (tmp_path / "file").write_text("a file where a folder should go")
    cache = tmp_path / "cache"
    value = str(tmp_path / where) if where else "cuda"
    args = {"--out-dir": str(tmp_path / "runs"), "--cache-dir": str(cache), flag: value}
    code = main(["train", "--data", str(good_data), "--epochs", "1", "--image-size", "24",
                 *[x for item in args.items() for x in item]])
    err = capsys.readouterr().err
    assert code == 2 and message.format(p=value, f=tmp_path / "file") in err
    assert not cache.exists() and not (tmp_path / "runs").exists()  # refused before decoding a single image
