"""LR schedulers: MultiStepLR as MegEngine 1.13, StepLR/CosineAnnealingLR/LinearWarmup."""

from __future__ import annotations

import math

import pytest

import engine as mge
import engine.optimizer as optim
from engine.optimizer.lr_scheduler import (
    CosineAnnealingLR,
    LinearWarmup,
    LRScheduler,
    MultiStepLR,
    StepLR,
)


def _opt(lr: float = 1.0, groups: int = 1) -> optim.SGD:
    params = [{"params": [mge.Parameter([1.0])], "lr": lr * (i + 1)} for i in range(groups)]
    return optim.SGD(params, lr=lr)


def _lrs(opt: optim.Optimizer, sched: LRScheduler, epochs: int, group: int = 0) -> list[float]:
    """The lr each epoch trains with: read it, then step the scheduler at the epoch's end."""
    out = []
    for _ in range(epochs):
        out.append(opt.param_groups[group]["lr"])
        opt.step()
        sched.step()
    return out


def test_multistep_matches_megengine() -> None:
    # refnotes/optimizer.md, "lr_scheduler": MegEngine 1.13.0's printed values, exactly.
    opt = _opt(1.0)
    sched = MultiStepLR(opt, milestones=[2, 4], gamma=0.1)
    assert opt.param_groups[0]["lr"] == 1.0 and sched.current_epoch == 0
    assert _lrs(opt, sched, 6) == [1.0, 1.0, 0.1, 0.1, 0.010000000000000002, 0.010000000000000002]
    assert opt.param_groups[0]["lr"] == 0.010000000000000002
    assert sched.get_lr() == [0.010000000000000002]
    assert sched.state_dict() == {"milestones": [2, 4], "gamma": 0.1, "current_epoch": 6}
    assert opt.param_groups[0]["initial_lr"] == 1.0


def test_multistep_gamma_half_matches_megengine() -> None:
    # probed in MegEngine 1.13.0: SGD(lr=0.1), MultiStepLR([2, 4], gamma=0.5)
    opt = _opt(0.1)
    sched = MultiStepLR(opt, milestones=[2, 4], gamma=0.5)
    assert _lrs(opt, sched, 7) == [0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.025]
    sched.step(epoch=10)
    assert sched.current_epoch == 10 and opt.param_groups[0]["lr"] == 0.025


def test_multistep_rejects_unsorted_milestones() -> None:
    with pytest.raises(ValueError, match=r"^Milestones should be a list of increasing integers\. "):
        MultiStepLR(_opt(), milestones=[4, 2])


def test_every_group_follows_its_own_base_lr() -> None:
    opt = _opt(1.0, groups=2)
    sched = MultiStepLR(opt, milestones=[1], gamma=0.5)
    sched.step()
    assert [g["lr"] for g in opt.param_groups] == [0.5, 1.0]
    assert sched.base_lrs == [1.0, 2.0]


def test_needs_an_optimizer_and_initial_lr_when_resuming() -> None:
    with pytest.raises(TypeError, match="should be Optimizer"):
        MultiStepLR(object(), milestones=[1])  # type: ignore[arg-type]
    with pytest.raises(KeyError, match=r"initial_lr.*param_groups\[0\]"):
        MultiStepLR(_opt(), milestones=[1], current_epoch=3)


def test_last_epoch_is_current_epoch() -> None:
    sched = StepLR(_opt(), step_size=2)
    sched.step()
    assert sched.last_epoch == sched.current_epoch == 1
    sched.last_epoch = 5
    assert sched.current_epoch == 5


def test_step_lr() -> None:
    opt = _opt(1.0)
    sched = StepLR(opt, step_size=2, gamma=0.5)
    assert _lrs(opt, sched, 6) == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    with pytest.raises(ValueError, match="step_size should be a positive integer"):
        StepLR(_opt(), step_size=0)


def test_cosine_annealing() -> None:
    opt = _opt(0.1)
    sched = CosineAnnealingLR(opt, T_max=4)
    got = _lrs(opt, sched, 6)
    want = [0.1, 0.1 * (1 + math.sqrt(0.5)) / 2, 0.05, 0.1 * (1 - math.sqrt(0.5)) / 2, 0.0]
    assert got[:5] == pytest.approx(want, abs=1e-15)
    assert got[5] == pytest.approx(want[3])  # past T_max it rises again along the cosine


def test_cosine_annealing_eta_min() -> None:
    opt = _opt(1.0)
    sched = CosineAnnealingLR(opt, T_max=2, eta_min=0.2)
    assert _lrs(opt, sched, 3) == pytest.approx([1.0, 0.6, 0.2])
    with pytest.raises(ValueError, match="T_max should be a positive integer"):
        CosineAnnealingLR(_opt(), T_max=0)
    with pytest.raises(ValueError, match="eta_min should be >= 0"):
        CosineAnnealingLR(_opt(), T_max=3, eta_min=-1)


def test_linear_warmup_alone() -> None:
    opt = _opt(1.0)
    sched = LinearWarmup(opt, warmup_epochs=4, start_factor=0.25)
    assert _lrs(opt, sched, 6) == [0.25, 0.4375, 0.625, 0.8125, 1.0, 1.0]


def test_linear_warmup_default_start_factor_is_pytorch_linear_lr() -> None:
    opt = _opt(0.3)
    sched = LinearWarmup(opt, warmup_epochs=2)
    assert _lrs(opt, sched, 3) == pytest.approx([0.1, 0.2, 0.3])


def test_linear_warmup_wraps_a_schedule_counting_absolute_epochs() -> None:
    opt = _opt(1.0)
    sched = LinearWarmup(MultiStepLR(opt, milestones=[3], gamma=0.1), 2, start_factor=0.5)
    assert _lrs(opt, sched, 5) == pytest.approx([0.5, 0.75, 1.0, 0.1, 0.1])


def test_linear_warmup_validation() -> None:
    with pytest.raises(ValueError, match="warmup_epochs should be a positive integer"):
        LinearWarmup(_opt(), warmup_epochs=0)
    with pytest.raises(ValueError, match=r"start_factor should be in \(0, 1\]"):
        LinearWarmup(_opt(), warmup_epochs=2, start_factor=0.0)


@pytest.mark.parametrize(
    "make",
    [
        lambda o: MultiStepLR(o, milestones=[2, 3], gamma=0.5),
        lambda o: StepLR(o, step_size=2, gamma=0.5),
        lambda o: CosineAnnealingLR(o, T_max=5, eta_min=0.01),
        lambda o: LinearWarmup(CosineAnnealingLR(o, T_max=5), warmup_epochs=2),
    ],
    ids=["MultiStepLR", "StepLR", "CosineAnnealingLR", "LinearWarmup(Cosine)"],
)
def test_resume_from_state_dicts(make) -> None:
    opt = _opt(1.0)
    sched = make(opt)
    _lrs(opt, sched, 3)
    opt_state, sched_state = opt.state_dict(), sched.state_dict()
    expected = _lrs(opt, sched, 4)

    opt2 = _opt(1.0)
    sched2 = make(opt2)  # construction sets epoch 0's lr ...
    opt2.load_state_dict(opt_state)
    sched2.load_state_dict(sched_state)  # ... and loading puts the restored epoch's lr back
    assert sched2.current_epoch == 3
    assert _lrs(opt2, sched2, 4) == expected


def test_load_state_dict_missing_key() -> None:
    sched = MultiStepLR(_opt(), milestones=[1])
    with pytest.raises(KeyError, match="key 'gamma' is not specified"):
        sched.load_state_dict({"milestones": [1], "current_epoch": 0})


def test_exported_from_engine_optimizer() -> None:
    assert optim.MultiStepLR is MultiStepLR and optim.lr_scheduler.StepLR is StepLR
    assert optim.LRScheduler is LRScheduler
