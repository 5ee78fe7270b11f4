"""Configs: presets, dotted keys, and the CLI's errors raised as ConfigError."""

import groklab
import pytest


def test_presets_table_lists_runs_and_sweeps():
    df = groklab.presets()
    assert list(df.columns) == ["name", "kind", "study", "reproduces", "description", "runs"]
    assert set(df["kind"]) == {"run", "sweep"}
    row = df[df["name"] == "liu2022-toy"].iloc[0]
    assert row["kind"] == "run" and row["study"] == "liu2022" and row["runs"] == 1
    # every run preset loads as a config
    for name in df[df["kind"] == "run"]["name"]:
        assert groklab.config(name).name == name


def test_dotted_keys_read_and_write():
    c = groklab.config("liu2022-toy", {"optim.decoder.weight_decay": 1.0}, train__steps=123)
    assert c["optim.decoder.weight_decay"] == 1.0
    assert c["train.steps"] == 123
    assert c.to_dict()["train"]["steps"] == 123
    assert "optim.decoder.lr" in c
    assert c["optim.decoder"]["lr"] == c["optim.decoder.lr"]
    c["optim.decoder.lr"] = 3e-4
    assert c["optim.decoder.lr"] == 3e-4
    # the TOML reads back as the same config
    assert groklab.config(c).to_dict() == c.to_dict()


def test_invalid_value_names_key_value_and_allowed():
    c = groklab.config("liu2022-toy")
    before = c.to_toml()
    with pytest.raises(groklab.ConfigError) as e:
        c["optim.decoder.lr"] = -1.0
    assert isinstance(e.value, ValueError)
    assert e.value.key == "optim.decoder.lr"
    assert e.value.value == "-1.0"
    assert "> 0" in e.value.allowed
    assert "optim.decoder.lr" in str(e.value)
    # a refused edit changes nothing
    assert c.to_toml() == before


def test_unknown_key_suggests_the_nearest():
    with pytest.raises(groklab.ConfigError) as e:
        groklab.config("liu2022-toy", {"train.stepz": 10})
    assert e.value.key == "train.stepz"
    assert "did you mean `train.steps`" in str(e.value)


def test_unknown_preset_and_wrong_kind():
    with pytest.raises(groklab.ConfigError) as e:
        groklab.config("liu2022-toyy")
    assert "did you mean `liu2022-toy`" in str(e.value)
    with pytest.raises(ValueError, match="sweep preset"):
        groklab.config("liu2022-fraction")


def test_bad_train_inputs_write_nothing(here):
    with pytest.raises(groklab.ConfigError):
        groklab.train(groklab.config("liu2022-toy"), seed=-1, progress=False)
    with pytest.raises(TypeError):
        groklab.config("liu2022-toy", {"train.steps": object()})
    assert list(here.iterdir()) == []


def test_numpy_and_unicode_values():
    import numpy as np

    c = groklab.config("liu2022-toy")
    c["optim.decoder.weight_decay"] = np.float64(0.25)
    c["train.steps"] = np.int64(77)
    c["name"] = "grök \U0001F600 \x7f"
    assert c["optim.decoder.weight_decay"] == 0.25 and c["train.steps"] == 77
    assert c["name"] == "grök \U0001F600 \x7f"
    with pytest.raises(groklab.ConfigError) as e:
        c.update({"train.steps": float("nan")})
    assert e.value.key == "train.steps"
