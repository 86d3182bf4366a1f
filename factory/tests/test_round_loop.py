"""round_loop.train_until_plateau: the loop distill.distill_round and compress.compress share."""
import copy

import pytest
import torch

from soundstep_factory.round_loop import LoopPlan, train_until_plateau


def _setup(lr: float = 0.1):
    """A one-weight model pulled towards 3.0; validation reads the weight's error and a fixed
    penalty schedule that makes the validation loss rise after step 4 whatever the weight does."""
    torch.manual_seed(0)
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    steps_seen: list[int] = []

    def train_step(step: int) -> torch.Tensor:
        steps_seen.append(step)
        loss = (model.weight - 3.0).pow(2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    def validate() -> tuple[float, float]:
        error = float((model.weight - 3.0).pow(2).sum())
        step = len(steps_seen)
        return error + (0.0 if step <= 4 else 10.0 * (step - 4)), error

    return model, optimizer, train_step, validate, steps_seen


def test_it_stops_after_patience_validations_without_a_new_best_and_keeps_the_best_weights():
    model, optimizer, train_step, validate, steps_seen = _setup()
    saved: list[tuple[int, dict]] = []
    plan = LoopPlan(max_steps=100, eval_every=2, patience=3, lr_at=lambda step: 0.1, label="test")
    result = train_until_plateau(model, optimizer, None, plan, train_step, validate,
                                 lambda step, history, extra: saved.append((step, copy.deepcopy(extra))))
    # validations at steps 2, 4 (new bests), then 6, 8, 10 (worse): three in a row without a new best
    assert result.stopped == "converged" and result.step == 10 and steps_seen == list(range(10))
    assert [h["step"] for h in result.history] == [0, 2, 4, 6, 8, 10]
    # the weights left in the model are step 4's: 3 * (1 - 0.8^4) after four SGD steps from 0
    assert float(model.weight) == pytest.approx(3 * (1 - 0.8 ** 4), rel=1e-5)
    assert result.best == pytest.approx((3 * 0.8 ** 4) ** 2, rel=1e-5)
    assert [s for s, _ in saved] == [2, 4, 6, 8, 10] and saved[-1][1]["stale"] == 3
    assert all(not extra["done"] for _, extra in saved)
    assert optimizer.param_groups[0]["lr"] == 0.1


def test_a_resumed_run_ends_where_an_uninterrupted_one_does_and_the_budget_stops_it():
    plan = LoopPlan(max_steps=6, eval_every=2, patience=10, lr_at=lambda step: 0.1 / (1 + step), label="test")
    model, optimizer, train_step, validate, _ = _setup()
    whole = train_until_plateau(model, optimizer, None, plan, train_step, validate, lambda *a: None)
    assert whole.stopped == "budget" and whole.step == 6

    model, optimizer, train_step, validate, steps_seen = _setup()
    stopped_at = {}

    def save(step, history, extra):  # keep the checkpoint a session cut off after step 2 would leave
        if step == 2:
            stopped_at.update(model=copy.deepcopy(model.state_dict()), optimizer=copy.deepcopy(optimizer.state_dict()),
                              step=step, history=copy.deepcopy(history), extra=copy.deepcopy(extra))

    train_until_plateau(model, optimizer, None, LoopPlan(2, 2, 10, plan.lr_at, "test"), train_step, validate, save)
    model, optimizer, train_step, validate, steps_seen = _setup()
    steps_seen.extend([0, 1])  # the validation's penalty schedule counts steps already taken
    resumed = train_until_plateau(model, optimizer, stopped_at, plan, train_step, validate, lambda *a: None)
    assert steps_seen[2:] == [2, 3, 4, 5]  # it went on from step 2, not from the start
    assert resumed.step == whole.step and resumed.stopped == whole.stopped
    assert [h["step"] for h in resumed.history] == [h["step"] for h in whole.history]
    assert resumed.best == pytest.approx(whole.best, rel=1e-6)
