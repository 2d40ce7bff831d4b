import pytest
import torch

from trainer.errors import UserError
from trainer.model import XrayCNN, count_parameters, summary


@pytest.mark.parametrize("size, params", [(256, 3_926_147), (224, 3_008_643)])
def test_parameter_count_matches_the_seed(size, params):
    assert count_parameters(XrayCNN(size)) == params


@pytest.mark.parametrize("size", [18, 64, 224])
def test_output_is_one_logit_per_class(size):
    model = XrayCNN(size).eval()
    with torch.no_grad():
        out = model(torch.rand(2, 3, size, size))
    assert out.shape == (2, 3)


def test_too_small_image_size_is_rejected_with_the_minimum():
    with pytest.raises(UserError, match="at least 18 px"):
        XrayCNN(17)


def test_summary_ends_with_total_params():
    text = summary(XrayCNN(256))
    assert text.splitlines()[-1] == "Total params: 3,926,147"
    assert "Conv2d" in text and "(128, 15, 15)" in text
