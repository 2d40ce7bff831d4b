"""The Makefile's train and sweep verbs pass EPOCHS=, IMAGE_SIZE= and TRIALS= to the trainer (make -n: printed, not run)."""
import subprocess

from trainer.paths import PROJECT_ROOT


def planned(*args: str) -> str:
    out = subprocess.run(["make", "-n", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout
    return next(line for line in out.splitlines() if "-m trainer" in line)


def test_train_takes_epochs_and_image_size_and_defaults_to_the_config():
    assert "--epochs 3 --image-size 64" in planned("train", "EPOCHS=3", "IMAGE_SIZE=64", "DATA=d")
    default = planned("train", "DATA=d")
    assert "--epochs" not in default and "--image-size" not in default  # config/train.yaml's 50 at 256 px


def test_sweep_takes_trials_epochs_and_image_size():
    line = planned("sweep", "TRIALS=2", "EPOCHS=1", "IMAGE_SIZE=32", "DATA=d")
    assert "--trials 2 --epochs 1 --image-size 32" in line
    assert "--trials 10" in planned("sweep", "DATA=d")
