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
    ({"epochs": "ten"}, "epochs='ten' has the wrong type"),
])
def test_invalid_values_name_the_value(override, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(override)


def test_yaml_with_unknown_key_is_rejected_naming_the_file(tmp_path):
    bad = tmp_path / "train.yaml"
    bad.write_text(DEFAULT_CONFIG.read_text() + "learning_rate: 0.1\n")
    with pytest.raises(UserError, match=f"{bad}: unknown key\\(s\\) learning_rate"):
        load_config(path=bad)


def test_yaml_with_wrong_type_is_rejected(tmp_path):
    bad = tmp_path / "train.yaml"
    bad.write_text(DEFAULT_CONFIG.read_text().replace("batch_size: 32", "batch_size: [32]"))
    with pytest.raises(UserError, match="batch_size=\\[32\\] has the wrong type"):
        load_config(path=bad)
