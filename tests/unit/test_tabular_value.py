"""Value matrix, threshold choice and expected cost, checked against hand computations."""

from __future__ import annotations

import numpy as np
import pytest

from vigia.tabular.value import (
    ValueMatrix,
    batch_value,
    choose_f1_threshold,
    choose_threshold,
    expected_cost_per_applicant,
    expected_values,
    labelled_value,
    outcome_values,
    threshold_choice_at,
)


def test_threshold_maximises_hand_computed_value() -> None:
    # probabilities (desc): .9 P, .8 N, .6 P, .4 N, .3 P, .1 N ; TP +10, FP -2, FN -5, TN 0
    p = np.array([0.9, 0.8, 0.6, 0.4, 0.3, 0.1])
    y = np.array([1, 0, 1, 0, 1, 0])
    vm = ValueMatrix(tp_benefit=10, fp_cost=2, fn_cost=5, tn_value=0)
    # flag top k: k=0 -> -15; 1 -> 10-10=0; 2 -> 10-2-10=-2; 3 -> 20-2-5=13; 4 -> 20-4-5=11; 5 -> 30-4=26; 6 -> 30-6=24
    choice = choose_threshold(y, p, vm)
    assert choice.threshold == pytest.approx(0.3)
    assert choice.value_total == pytest.approx(26)
    assert (choice.tp, choice.fp, choice.fn, choice.tn) == (3, 2, 0, 1)
    assert choice.value_per_record == pytest.approx(26 / 6)
    assert outcome_values(vm, y, p >= choice.threshold).sum() == pytest.approx(26)


def test_flag_nothing_when_costs_dominate() -> None:
    p, y = np.array([0.9, 0.5]), np.array([0, 0])
    choice = choose_threshold(y, p, ValueMatrix(tp_benefit=1, fp_cost=1, fn_cost=1))
    assert choice.n_flagged == 0 and choice.threshold > 0.9


def test_ties_go_to_higher_threshold_and_equal_probabilities_move_together() -> None:
    p, y = np.array([0.7, 0.7, 0.2]), np.array([1, 0, 0])
    # flag both .7 rows: +1 -1 = 0 ; flag none: -1 (fn) ; flag all: 1 - 2 = -1
    choice = choose_threshold(y, p, ValueMatrix(tp_benefit=1, fp_cost=1, fn_cost=1))
    assert choice.threshold == pytest.approx(0.7) and choice.n_flagged == 2


def test_expected_cost_per_applicant_by_hand() -> None:
    y = np.array([1, 1, 0, 0, 0])  # 1 = bad
    decision = np.array([1, 0, 1, 0, 0])  # one bad passed (FN, cost 5), one good refused (FP, cost 1)
    assert expected_cost_per_applicant(y, decision, fp_cost=1, fn_cost=5) == pytest.approx(6 / 5)
    vm = ValueMatrix.from_cost_matrix(fp_cost=1, fn_cost=5)
    out = batch_value(vm, np.array([0.9, 0.1, 0.5, 0.2, 0.0]), decision, y)
    assert out["cost_per_record"] == pytest.approx(1.2)
    assert vm.bayes_threshold() == pytest.approx(1 / 6)


def test_expected_value_per_record_and_totals() -> None:
    vm = ValueMatrix(tp_benefit=100, fp_cost=10, fn_cost=50, tn_value=1)
    ev = expected_values(vm, [0.2, 0.2], [1, 0])
    assert ev == pytest.approx([0.2 * 100 - 0.8 * 10, 0.8 * 1 - 0.2 * 50])
    out = batch_value(vm, [0.2, 0.2], [1, 0])
    assert out["expected_value_total"] == pytest.approx(ev.sum()) and out["n_flagged"] == 1


def test_labelled_value_uses_only_known_outcomes() -> None:
    vm = ValueMatrix.from_cost_matrix(fp_cost=1, fn_cost=5)
    decision = np.array([1, 0, 1, 0])
    out = labelled_value(vm, decision, np.array([1.0, 1.0, np.nan, 0.0]))  # TP, FN (cost 5), unknown, TN
    assert out["labelled_rows"] == 3 and (out["tp"], out["fn"], out["fp"], out["tn"]) == (1, 1, 0, 1)
    assert out["cost_per_record"] == pytest.approx(5 / 3)
    assert labelled_value(vm, decision, np.full(4, np.nan)) == {"labelled_rows": 0}


def test_parse_and_validation() -> None:
    assert ValueMatrix.parse("fp=1, fn=5") == ValueMatrix(0, 1, 5, 0)
    assert ValueMatrix.parse("tp=3,fp=1,fn=2,tn=0.5") == ValueMatrix(3, 1, 2, 0.5)
    with pytest.raises(ValueError, match="bad value-matrix entry"):
        ValueMatrix.parse("fx=1")
    with pytest.raises(ValueError, match="non-negative"):
        ValueMatrix(fp_cost=-1)


def test_f1_threshold() -> None:
    p, y = np.array([0.9, 0.8, 0.6, 0.4]), np.array([1, 1, 0, 1])
    choice = choose_f1_threshold(y, p)  # flag all: 2*3/(4+3)=0.857 ; top 2: 2*2/(2+3)=0.8
    assert choice.threshold == pytest.approx(0.4) and choice.score == pytest.approx(6 / 7)


def test_fixed_threshold_outcome_by_hand() -> None:
    vm = ValueMatrix.from_cost_matrix(fp_cost=1.0, fn_cost=5.0)
    y = [1, 0, 1, 0, 0]
    p = [0.9, 0.5, 0.1, 0.1, 0.2]
    c = threshold_choice_at(y, p, vm.bayes_threshold(), vm, "bayes")  # 1/6: flags 0.9, 0.5, 0.2
    assert (c.tp, c.fp, c.fn, c.tn, c.n_flagged, c.n) == (1, 2, 1, 1, 3, 5)
    assert c.value_total == c.score == -(2 * 1.0 + 1 * 5.0)
    assert c.value_per_record == pytest.approx(-7 / 5) and (c.threshold, c.criterion) == (1 / 6, "bayes")
