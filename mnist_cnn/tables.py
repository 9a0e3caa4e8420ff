"""Tables that keep their columns' alignment in the HTML a notebook shows on GitHub.

PrettyTable's own HTML (what Jupyter shows) drops the alignment, so every column, paragraphs of
text included, renders right-aligned on GitHub; HtmlTable writes it into each cell, both as the
`align` attribute and as a style, whichever the renderer keeps.
"""

import html

from prettytable import PrettyTable

SIDES = {"l": "left", "r": "right", "c": "center"}


class HtmlTable(PrettyTable):
    """A PrettyTable whose notebook HTML aligns each column as its text form does."""

    def _cell(self, tag, field, value):
        side = SIDES[self.align.get(field, "c")]
        text = html.escape(str(value))
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
