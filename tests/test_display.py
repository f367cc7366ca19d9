"""coursenet.display: which data the notebooks ran on, answers, verdicts."""

import re
import warnings

import numpy as np
import pytest
from IPython.display import Markdown

from coursenet import data, display


def fake_full(final=False, flatten=True, **kwargs):
    """Stands in for a successful full-MNIST load (no warning)."""
    x = np.zeros((2, 784), np.uint8)
    return (x, np.zeros(2, np.int64)), (x, np.zeros(2, np.int64)), 10


@pytest.fixture
def shown(monkeypatch):
    out = []
    monkeypatch.setattr(display, "_display", out.append)
    return out


def test_offline_fallback_is_a_notice_not_a_warning(monkeypatch, tmp_path, shown):
    # what notebooks 04-06 do: load_dataset, then data_notice
    monkeypatch.setenv("COURSENET_OFFLINE", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning left over would fail here
        dataset = data.load_dataset("mnist", cache_dir=tmp_path)
        display.data_notice(dataset)
    xtr, xval = dataset.train[0], dataset.val[0]
    assert dataset.source == "sample"
    assert (len(xtr), len(xval), dataset.num_cls) == (4_500, 500, 10)
    # the same arrays as the plain loader gives
    (xref, _), _, _ = data.load_mnist(source="sample")
    np.testing.assert_array_equal(xtr, xref)
    assert len(shown) == 1 and isinstance(shown[0], Markdown)
    text = shown[0].data
    assert "sample" in text and "MNIST's *training* file" in text
    assert "4,500 train / 500 validation" in text
    assert "MNIST's canonical 10,000 test digits" in text
    assert not re.search(r"/\w+/", text)  # no machine path (cache, home, temp)


def test_final_sample_is_tested_on_the_canonical_test_set(shown):
    final = data.load_dataset("mnist", final=True, source="sample")
    assert final.source == "sample"
    assert (len(final.train[0]), len(final.val[0])) == (5_000, 10_000)
    assert display.describe_test_data(final, len(final.val[0])) == \
        "MNIST's canonical test set (10,000 images)"
    assert shown == []


def test_full_data_says_full_and_shows_nothing(monkeypatch, shown):
    monkeypatch.setattr(data, "load_mnist", fake_full)
    dataset = data.load_dataset("mnist")
    display.data_notice(dataset)
    assert dataset.source == "full" and dataset.num_cls == 10
    assert shown == []


def test_other_warnings_pass_through(monkeypatch, shown):
    def damaged(final=False, flatten=True, **kwargs):
        warnings.warn("cached file is damaged", UserWarning, stacklevel=2)
        return fake_full(final)

    monkeypatch.setattr(data, "load_mnist", damaged)
    with pytest.warns(UserWarning, match="damaged"):
        assert data.load_dataset("mnist").source == "full"


def test_the_old_loader_is_gone():
    # notebooks 04-06 load with data.load_dataset + display.data_notice
    assert not hasattr(display, "load_mnist_with_notice")
    assert not hasattr(display, "MnistLoad")


def test_describe_test_data():
    # full or sample: final=True tests on MNIST's canonical test set either way
    for source in ("full", "sample"):
        assert display.describe_test_data(source, 10_000) == \
            "MNIST's canonical test set (10,000 images)"
        assert display.describe_test_data(source, short=True) == \
            "MNIST's canonical test set"
    with pytest.raises(ValueError, match="source must be one of .* got 'web'"):
        display.describe_test_data("web")
    x = np.zeros((1, 784), np.uint8)
    y = np.zeros(1, np.int64)
    fashion = data.Dataset((x, y), (x, y), 10, "full", "fashion-mnist",
                           data.FASHION_CLASSES)
    assert display.describe_test_data(fashion, 10_000) == \
        "Fashion-MNIST's test set (10,000 images)"


def test_data_notice_shows_only_for_the_sample(shown):
    sample = data.load_dataset("mnist", source="sample")
    display.data_notice(sample)
    assert len(shown) == 1 and "bundled MNIST sample" in shown[0].data
    display.data_notice(sample._replace(source="full"))
    assert len(shown) == 1
    with pytest.raises(TypeError, match="dataset must be what .*load_dataset"):
        display.data_notice((1, 2, 3))


def test_answer_renders_markdown(shown):
    display.answer("Answer to Q7", "  The gap is **0.14**.\n")
    assert len(shown) == 1
    assert shown[0].data == "### Answer to Q7\n\nThe gap is **0.14**.\n"
    with pytest.raises(TypeError, match="body must be a string"):
        display.answer_markdown("Answer", 3)
    with pytest.raises(TypeError, match="title must be a non-empty string"):
        display.answer_markdown("", "x")


def test_verdict(capsys):
    display.verdict("loss at init within 0.1 of ln 10", abs(2.31 - np.log(10)) < 0.1)
    display.verdict("above 80%", np.float64(0.7) > 0.8)
    assert capsys.readouterr().out == \
        "loss at init within 0.1 of ln 10: True\nabove 80%: False\n"
    with pytest.raises(TypeError, match="holds must be True or False, got 0.9"):
        display.verdict("accuracy", 0.9)


@pytest.mark.parametrize("kwargs, error, words", [
    ({"num_test": "many"}, TypeError, ["num_test", "'many'"]),
    ({"num_test": -3}, ValueError, ["num_test", "-3"]),
    ({"num_test": 2.5}, TypeError, ["num_test", "2.5"]),
    ({"short": "yes"}, TypeError, ["short", "True or False"]),
])
def test_describe_test_data_checks_its_arguments(kwargs, error, words):
    with pytest.raises(error) as info:
        display.describe_test_data("full", **kwargs)
    for word in words:
        assert word in str(info.value)
