"""Each LR schedule, stepped per epoch as the training loop steps it."""
import pytest
import torch

from trainer.config import load_config
from trainer.errors import UserError
from trainer.schedules import build_scheduler, current_lr, step_scheduler


def lrs(val_losses, **cfg):
    cfg = load_config(dict(epochs=len(val_losses), lr=0.1, **cfg))
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=cfg.lr)
    scheduler = build_scheduler(cfg, optimizer)
    out = []
    for loss in val_losses:
        out.append(current_lr(optimizer))
        optimizer.step()
        step_scheduler(scheduler, loss)
    return out


def test_none_keeps_the_lr():
    assert lrs([1.0] * 4) == [0.1] * 4


def test_step_decays_every_step_size_epochs():
    assert lrs([1.0] * 5, scheduler="step", lr_step_size=2, lr_gamma=0.5) == pytest.approx(
        [0.1, 0.1, 0.05, 0.05, 0.025])


def test_cosine_goes_from_lr_to_lr_min_over_the_epochs():
    out = lrs([1.0] * 4, scheduler="cosine", lr_min=0.0)
    assert out[0] == 0.1 and out == sorted(out, reverse=True) and out[-1] < 0.02


def test_plateau_decays_only_when_val_loss_stalls():
    out = lrs([1.0, 0.9, 0.9, 0.9, 0.9], scheduler="plateau", lr_patience=1, lr_gamma=0.5)
    assert out == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.05])


@pytest.mark.parametrize("change, message", [
    (dict(scheduler="linear"), "scheduler='linear' is unknown"),
    (dict(lr_gamma=1.5), "lr_gamma=1.5 must be in (0, 1)"),
    (dict(lr_min=0.5), "lr_min=0.5 must be in [0, lr=0.001)"),
])
def test_bad_schedule_settings_are_one_clear_message(change, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        load_config(change)


def test_a_config_saved_before_schedules_existed_loads_without_one():
    """Checkpoints, journals and registered models of older runs lack the schedule keys."""
    saved = {k: v for k, v in load_config().to_dict().items() if not k.startswith("lr_") and k != "scheduler"}
    cfg = load_config(saved, path=None)
    assert cfg.scheduler == "none" and cfg.lr == saved["lr"]
