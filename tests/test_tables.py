"""Check the text helpers that every table and sentence of the study uses."""

import pytest

from mnist_cnn.tables import names_text, plural, signed, signed_interval, text_table


@pytest.mark.parametrize("value, digits, text", [
    (0.0531, 2, "+0.05"), (-0.0531, 2, "-0.05"), (-0.0031, 2, "0.00"), (0.0031, 2, "0.00"),
    (-0.0, 4, "0.0000"), (-0.00004, 4, "0.0000"), (-0.00005001, 4, "-0.0001"), (1.25, 1, "+1.2"),
])
def test_signed_shows_the_sign_except_on_a_value_that_rounds_to_zero(value, digits, text):
    assert signed(value, digits) == text


def test_plural_counts_one_thing_in_the_singular_and_others_in_the_plural():
    assert [plural(n, "seed") for n in (0, 1, 2)] == ["0 seeds", "1 seed", "2 seeds"]


def test_names_text_lists_names_as_a_reader_does():
    assert names_text(["a"]) == "a"
    assert names_text(["a", "b"]) == "a and b"
    assert names_text(("a", "b", "c")) == "a, b and c"


def test_text_table_keeps_each_columns_alignment_in_the_html_a_notebook_shows():
    table = text_table(["Model", "Gap"], [["model_1", "+0.05 pp"]], text_fields=("Model",))
    cells = table._repr_html_()
    assert '<td align="left" style="text-align: left">model_1</td>' in cells
    # A number and its unit stay on one line in a right-aligned cell.
    assert '<td align="right" style="text-align: right">+0.05&nbsp;pp</td>' in cells
    assert str(table).splitlines()[3].startswith("| model_1")


def test_a_pair_of_models_stays_on_one_line_in_html_and_reads_the_same_as_text():
    table = text_table(["Models", "Note"], [["model_1 − model_2", "a long note"]],
                       text_fields=("Models", "Note"))
    cells = table._repr_html_()
    assert ">model_1&nbsp;−&nbsp;model_2</td>" in cells and ">a long note</td>" in cells
    assert "| model_1 − model_2 |" in str(table)


@pytest.mark.parametrize("low, high, text", [
    (-0.1021, 0.0449, "[-0.10 pp, +0.04 pp]"),
    (-0.0031, 0.1049, "[-0.003 pp, +0.10 pp]"),  # the bound shows that 0 lies inside
    (0.0031, 0.1049, "[+0.003 pp, +0.10 pp]"),  # ... or outside
    (-0.10, -0.000042, "[-0.10 pp, -0.00004 pp]"),
    (0.0, 0.1049, "[0.00 pp, +0.10 pp]"),
    (-0.1, -1e-9, "[-0.10 pp, 0.00 pp]"),  # at most MORE_BOUND_DIGITS more decimals
])
def test_signed_interval_shows_which_side_of_zero_each_bound_lies(low, high, text):
    assert signed_interval(low, high, 2, " pp") == text
