"""Tables that keep their columns' alignment in the HTML a notebook shows on GitHub.

PrettyTable's own HTML (what Jupyter shows) drops the alignment, so every column, paragraphs of
text included, renders right-aligned on GitHub; HtmlTable writes it into each cell, both as the
`align` attribute and as a style, whichever the renderer keeps.

Beside the tables, the few helpers that write numbers and names the same way in every table and
sentence: signed differences, signed intervals, counts of things and lists of names.
"""

import html

from prettytable import PrettyTable

SIDES = {"l": "left", "r": "right", "c": "center"}
PAIR_JOIN = " − "  # between the two models of a pair; kept on one line in HTML (HtmlTable)
MORE_BOUND_DIGITS = 3  # decimals an interval's bound may gain to show on which side of zero it lies


def text_table(fields, rows, text_fields=()):
    """Return a table of `rows` under `fields`: `text_fields` left-aligned, numbers right."""
    table = HtmlTable(list(fields))
    for field in fields:
        table.align[field] = "l" if field in text_fields else "r"
    table.add_rows(rows)
    return table


def signed(value, digits):
    """Return `value` signed to `digits` decimals; a value that rounds to zero reads '0.00'."""
    text = f"{value:+.{digits}f}"
    return text[1:] if float(text) == 0 else text


def signed_interval(low, high, digits, unit=""):
    """Return '[low, high]' signed; a bound that rounds to zero gains decimals to show its sign."""
    def bound(value):
        for shown in range(digits, digits + MORE_BOUND_DIGITS + 1):
            if float(f"{value:.{shown}f}") != 0:
                return signed(value, shown) + unit
        return signed(value, digits) + unit
    return f"[{bound(low)}, {bound(high)}]"


def pair_text(a, b):
    """Return a pair of models as every table and sentence names it: 'model_1 − model_2'."""
    return f"{a}{PAIR_JOIN}{b}"


def plural(n, word):
    """Return e.g. '1 run' or '3 runs'."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def names_text(names):
    """Return names as a reader lists them: 'a', 'a and b', 'a, b and c'."""
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class HtmlTable(PrettyTable):
    """A PrettyTable whose notebook HTML aligns each column as its text form does."""

    def _cell(self, tag, field, value):
        side = SIDES[self.align.get(field, "c")]
        text = html.escape(str(value))
        # A pair of models (pair_text) stays on one line: it names one row.
        text = text.replace(PAIR_JOIN, PAIR_JOIN.replace(" ", "&nbsp;"))
        if tag == "td" and side == "right":
            # A number with its spread or unit ("99.27 ± 0.07%", "+0.07 pp") stays on one line.
            text = text.replace(" ", "&nbsp;")
        return f'<{tag} align="{side}" style="text-align: {side}">{text}</{tag}>'

    def _repr_html_(self):
        """Return the table as HTML with each cell's alignment (Jupyter calls this)."""
        fields = self.field_names
        head = "".join(self._cell("th", field, field) for field in fields)
        body = "\n".join("<tr>" + "".join(self._cell("td", field, value)
                                          for field, value in zip(fields, row)) + "</tr>"
                         for row in self.rows)
        return f"<table>\n<thead>\n<tr>{head}</tr>\n</thead>\n<tbody>\n{body}\n</tbody>\n</table>"
