"""The analysis notebook's tables and the one format of a p-value (`mnist_cnn.analysis_tables`)."""

import pytest

from mnist_cnn import analysis_tables
from mnist_cnn.analysis import ACCURACY
from mnist_cnn.findings import analyse

from helpers import ACCURACIES, make_study, mean_percent


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return analyse(make_study(tmp_path_factory.mktemp("results"), ACCURACIES))


@pytest.mark.parametrize("p, cell", [(0.0152, "0.015"), (0.092, "0.092"), (1.0, "1"),
                                     (0.001, "0.001"), (0.00052, "< 0.001"), (0.0, "< 0.001")])
def test_a_p_value_has_one_format_in_tables_and_in_sentences(p, cell):
    assert analysis_tables.p_cell(p) == cell
    assert analysis_tables.p_text(p) == ("p " + cell if cell.startswith("<") else "p = " + cell)


def rows(table):
    return [list(row) for row in table.rows]


def test_the_pairs_table_counts_the_runs_of_one_that_beat_the_other(study):
    pairs = analysis_tables.pairs_table(study.scores, ACCURACY)
    assert pairs.field_names[1:3] == ["Difference (pp)", "95% interval (pp)"]  # not in each cell
    table = {row[0]: row for row in rows(pairs)}
    assert len(table) == 21
    for a, b in [("model_1", "model_2"), ("model_4", "model_7"), ("model_2", "model_3")]:
        wins = sum((x > y) + 0.5 * (x == y) for x in ACCURACIES[a] for y in ACCURACIES[b])
        share = wins / (len(ACCURACIES[a]) * len(ACCURACIES[b]))
        assert table[f"{a} − {b}"][-1].startswith(f"{share:.2f} [")
        assert table[f"{a} − {b}"][1] == f"{mean_percent(a) - mean_percent(b):+.2f}"
