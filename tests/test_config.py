import re

import pytest

from trainer.config import DEFAULT_CONFIG, load_config
from trainer.errors import UserError


def test_defaults_come_from_the_yaml_file():
    cfg = load_config()
    assert cfg.image_size == 256 and cfg.optimizer == "adam" and cfg.dropout == (0.25, 0.30, 0.40, 0.25)


def test_flags_override_the_file_and_none_means_not_given():
    cfg = load_config({"lr": 0.01, "epochs": None})
    assert cfg.lr == 0.01 and cfg.epochs == load_config().epochs


@pytest.mark.parametrize("override, message", [
    ({"lr": -0.1}, "lr=-0.1"),
    ({"batch_size": 0}, "batch_size=0"),
    ({"optimizer": "rmsprop"}, "optimizer='rmsprop' is unknown; valid: adam, adamw, sgd"),
    ({"tracker": "neptune"}, "tracker='neptune' is unknown; valid: none, mlflow, wandb, both"),
    ({"image_size": 16}, "image_size=16 is too small"),
    ({"epochs": "ten"}, "epochs must be a whole number, got 'ten'"),
    ({"epochs": 2.5}, "epochs must be a whole number, got 2.5"),
    ({"lr": "fast"}, "lr must be a number, got 'fast'"),
    ({"augment": "yes"}, "augment must be true or false, got 'yes'"),
    ({"dropout": [0.1, 0.2]}, "dropout must be a list of four numbers, got [0.1, 0.2]"),
])
def test_invalid_values_name_the_value(override, message):
    with pytest.raises(UserError, match=re.escape(message)):
        load_config(override)


def test_yaml_with_unknown_key_is_rejected_naming_the_file(tmp_path):
    bad = tmp_path / "train.yaml"
    bad.write_text(DEFAULT_CONFIG.read_text() + "learning_rate: 0.1\n")
    with pytest.raises(UserError, match=f"{bad}: unknown key 'learning_rate'; valid keys: "):
        load_config(path=bad)


def test_yaml_with_wrong_type_is_rejected(tmp_path):
    bad = tmp_path / "train.yaml"
    bad.write_text(DEFAULT_CONFIG.read_text().replace("batch_size: 32", "batch_size: [32]"))
    with pytest.raises(UserError, match=re.escape("batch_size must be a whole number, got [32]")):
        load_config(path=bad)


def test_a_one_key_file_is_merged_over_train_yaml(tmp_path):
    mine = tmp_path / "my.yaml"
    mine.write_text("epochs: 3\n")
    cfg = load_config(path=mine)
    assert cfg.epochs == 3
    assert cfg.to_dict() == {**load_config().to_dict(), "epochs": 3}


def test_flags_override_a_partial_file(tmp_path):
    mine = tmp_path / "my.yaml"
    mine.write_text("epochs: 3\nlr: 0.01\n")
    cfg = load_config({"lr": 0.5, "epochs": None}, path=mine)
    assert (cfg.epochs, cfg.lr, cfg.batch_size) == (3, 0.5, load_config().batch_size)


@pytest.mark.parametrize("key, nearest", [("epoch", "epochs"), ("learning_rate", None), ("batchsize", "batch_size"),
                                          ("drop_out", "dropout")])
def test_an_unknown_key_is_named_with_the_nearest_valid_key(tmp_path, key, nearest):
    mine = tmp_path / "my.yaml"
    mine.write_text(f"{key}: 3\n")
    hint = f"did you mean {nearest!r}?" if nearest else "valid keys: data, image_size"
    with pytest.raises(UserError, match=re.escape(f"{mine}: unknown key {key!r}; {hint}")):
        load_config(path=mine)


def test_numbers_written_as_text_are_read_as_numbers(tmp_path):
    mine = tmp_path / "my.yaml"
    mine.write_text("lr: 1e-3\n")  # YAML 1.1 reads this as text (no dot)
    assert load_config(path=mine).lr == 0.001
