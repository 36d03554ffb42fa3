"""Griffe extension: the docstrings' doctest examples rendered as an Examples section.

The toolkit's docstrings end with an `Example:` line followed by doctest lines at
the same indentation (which `pytest --doctest-modules` runs). Google-style parsers
want a section's content indented, so this extension indents the lines that follow
`Example:` up to the next section header; Griffe then renders them as `pycon` code.
"""

import re

import griffe

_EXAMPLE = re.compile(r"^(\s*)Examples?:\s*$")
_SECTION = re.compile(r"^\s*(Args|Arguments|Returns|Raises|Yields|Attributes|Note|Notes):\s*$")


def indent_examples(text):
    """Indent the lines after each `Example:` line (to the next section header)."""
    lines = text.splitlines()
    out, inside, margin = [], False, ""
    for line in lines:
        match = _EXAMPLE.match(line)
        if match:
            inside, margin = True, match.group(1)
            out.append(f"{margin}Examples:")
            continue
        if inside and _SECTION.match(line):
            inside = False
        if inside and line.strip() and not line.startswith(margin + "    "):
            line = f"{margin}    {line[len(margin) :]}"
        out.append(line)
    return "\n".join(out)


class DoctestExamples(griffe.Extension):
    """Indent `Example:` doctest blocks so that they render as code."""

    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is not None and "Example" in obj.docstring.value:
            obj.docstring.value = indent_examples(obj.docstring.value)
