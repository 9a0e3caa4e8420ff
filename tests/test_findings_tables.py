"""The findings' tables (`mnist_cnn.findings_tables`), from a made-up results folder."""

import pytest

from mnist_cnn import findings, findings_tables
from mnist_cnn.analysis import ACCURACY, LOG_LOSS

from helpers import (ACCURACIES, fashion_labels_or_skip, made_up_claims, make_both, make_study,
                     mean_percent)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return make_study(tmp_path_factory.mktemp("results"), ACCURACIES)


def test_the_tables_show_both_intervals(results):
    study = findings.analyse(results)
    table = findings_tables.relations_table(study, ACCURACY)
    # The unit of a difference stands once in its header, not in every cell (GitHub's width).
    assert len(table.rows) == 21 and table.field_names[1:4] == [
        "Difference (pp)", "95%, seeds and images (pp)", "95%, seeds only (pp)"]
    pair = study.pairs(ACCURACY)[0]
    assert table.rows[0][:3] == ["model_1 − model_2", "-0.24",
                                 ACCURACY.difference_interval(*pair.interval).replace(" pp", "")]
    assert table.rows[0][6] == pair.relation == "worse"
    steps = findings_tables.steps_table(study, LOG_LOSS)
    assert steps.field_names[1:3] == ["Difference", "95%, seeds and images"]  # no unit
    assert [row[0] for row in steps.rows] == ["2 → 3", "3 → 5", "5 → 7"]
    means = findings_tables.means_table(study, ACCURACY)
    assert means.rows[0][:3] == ["model_1", 3, f"{mean_percent('model_1'):.2f}%"]
    assert means.rows[0][3] != means.rows[0][4]  # over seeds and images, over seeds only


def test_the_means_table_has_each_models_seeds_and_mean(results):
    table = findings_tables.means_table(findings.analyse(results), ACCURACY)
    assert [row[0] for row in table.rows] == sorted(ACCURACIES)
    for name, seeds, mean, *_ in table.rows:
        assert seeds == len(ACCURACIES[name]) and mean == f"{mean_percent(name):.2f}%"


def test_the_claims_table_says_what_would_decide_an_undecided_claim():
    claims = made_up_claims()
    table = findings_tables.claims_table(claims)
    assert table.rows[0][1] == "undecided (about 400 seeds per model would decide it)"
    assert table.rows[1][1].startswith("undecided (this test set cannot resolve it")
    assert table.rows[2][1] == "supported" and "<table>" in table.get_html_string()
    assert not any(c.id in row for row in table.rows for c in claims)


def test_the_sensitivity_table_judges_every_claim_at_half_once_and_twice_the_margins(results):
    study = findings.analyse(results)
    table = findings_tables.sensitivity_table(study)
    assert table.field_names == ["The original's finding", "margins × 0.5", "margins × 1",
                                 "margins × 2"]
    assert [row[0] for row in table.rows] == [claim.statement for claim in study.claims]
    assert [row[2] for row in table.rows] == [claim.verdict for claim in study.claims]


def test_the_transfer_tables_set_each_data_sets_verdicts_and_steps_side_by_side(tmp_path):
    both = make_both(tmp_path, fashion_labels_or_skip())
    studies = {"mnist": findings.analyse(both),
               "fashion-mnist": findings.analyse(both, dataset="fashion-mnist")}
    table = findings_tables.transfer_table(studies)
    assert table.field_names == ["The original's finding", "MNIST", "Fashion-MNIST"]
    by_id = [{c.id: c.verdict for c in study.claims} for study in studies.values()]
    assert [row[1:] for row in table.rows] == [[verdicts[c.id] for verdicts in by_id]
                                               for c in studies["mnist"].claims]
    assert by_id[1]["depth-accuracy"] == "not supported"  # FASHION_ACCURACIES fall with depth
    steps = findings_tables.depth_steps_table(studies)
    assert [row[0] for row in steps.rows] == ["2 → 3", "3 → 5", "5 → 7"]
    assert all(row[2].startswith("-") for row in steps.rows)  # each deeper step loses there


def test_seeds_to_decide_read_as_one_word(results):
    study = findings.analyse(results)
    table = findings_tables.relations_table(study, ACCURACY)
    undecided = [(row, c) for row, c in zip(table.rows, study.pairs(ACCURACY))
                 if c.seeds_to_decide]
    assert undecided, "the made-up study has no pair that more seeds would decide"
    for row, c in undecided:
        assert row[-1] == f"≈{c.seeds_to_decide:,}"
