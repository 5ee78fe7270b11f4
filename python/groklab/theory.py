"""The theories beside the simulations: the effective theory of the toy addition model (Liu et
al. 2022) and the linear estimator's grokking (Levi et al. 2023). The numbers are the ones
``groklab theory`` prints."""

from __future__ import annotations

import json
from typing import Optional

from . import _groklab

__all__ = ["addition", "linear"]


def addition(p: int = 10, samples: int = 10_000, seed: int = 0) -> dict:
    """P(nullity = 2) of the effective theory's parallelogram matrix against the training-set
    size, over ``samples`` random training sets per size (``groklab theory addition``).

    Returns a dict: ``p``, ``pairs``, ``parallelograms``, ``critical_fraction`` (where the
    probability crosses 1/2; None if never) and ``table``, a DataFrame with columns size,
    fraction, p_nullity2, median_lambda3.
    """
    import pandas as pd

    r = json.loads(_groklab.addition_json(p, samples, seed))
    sizes = sorted(int(k) for k in r["p_nullity2"])
    r["table"] = pd.DataFrame(
        {
            "size": sizes,
            "fraction": [s / r["pairs"] for s in sizes],
            "p_nullity2": [r["p_nullity2"][str(s)] for s in sizes],
            "median_lambda3": [r["median_lambda3"][str(s)] for s in sizes],
        }
    )
    del r["p_nullity2"], r["median_lambda3"]
    return r


def linear(
    lambda_: float,
    dout: int = 1,
    gamma: float = 0.0,
    eta: float = 0.01,
    eps: float = 1e-3,
    alpha: float = 1.0,
    level: float = 0.95,
    flow: bool = False,
    steps: Optional[float] = None,
    points: int = 200,
) -> dict:
    """The linear teacher-student's training and generalisation under gradient descent
    (``groklab theory linear``): ``lambda_`` = d_in / N_train, ``dout`` outputs, weight decay
    ``gamma``, learning rate ``eta``, accuracy threshold ``eps``, initial scale ``alpha``,
    accuracy ``level`` defining t_train and t_gen, gradient ``flow`` instead of discrete steps.

    Returns a dict: the inputs and the summary (``t_train``, ``t_gen``, ``delta_t``, the
    asymptotic losses, ...) flat, and ``curve``, a DataFrame (t, train_loss, gen_loss,
    train_acc, gen_acc) at ``points`` log-spaced steps up to ``steps`` (default: past both times).
    """
    import pandas as pd

    r = json.loads(_groklab.linear_json(lambda_, dout, gamma, eta, eps, alpha, level, flow, steps, points))
    out = dict(r["summary"].pop("theory", {}))
    out["clock"] = "flow" if flow else "discrete"
    out.update(r["summary"])
    out["curve"] = pd.DataFrame(r["curve"], columns=["t", "train_loss", "gen_loss", "train_acc", "gen_acc"])
    return out
