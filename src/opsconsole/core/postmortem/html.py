"""The post-mortem document as one self-contained HTML page (inline CSS, no script)."""

from __future__ import annotations

from html import escape

from opsconsole.core.postmortem.document import (
    Block,
    Bullets,
    Document,
    Facts,
    Image,
    Paragraph,
    Prompt,
    Subheading,
    Table,
)

IMAGE_WIDTH = 940  # pixels: the page's text column
STYLE = """
body { font-family: "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif; color: #1f2328;
  background: #ffffff; max-width: 1000px; margin: 2em auto; padding: 0 1.5em; line-height: 1.5; }
h1 { font-size: 1.8em; border-bottom: 2px solid #d0d7de; padding-bottom: .3em; }
h2 { font-size: 1.35em; margin-top: 1.8em; border-bottom: 1px solid #d0d7de; padding-bottom: .2em; }
h3 { font-size: 1.1em; margin-top: 1.2em; }
table { border-collapse: collapse; margin: .8em 0; width: 100%; font-size: .92em; }
th, td { border: 1px solid #d0d7de; padding: .35em .6em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
table.facts { width: auto; border: none; }
table.facts th, table.facts td { border: none; background: none; padding: .15em 1.2em .15em 0;
  }
p.prompt { font-style: italic; color: #57606a; background: #f6f8fa; border-left: 4px solid #d0d7de;
  padding: .5em .8em; }
img { max-width: 100%; height: auto; border: 1px solid #d0d7de; margin: .6em 0; }
"""


def _block(block: Block) -> str:
    if isinstance(block, Paragraph):
        return f"<p>{escape(block.text)}</p>"
    if isinstance(block, Prompt):
        return f'<p class="prompt">{escape(block.text)}</p>'
    if isinstance(block, Subheading):
        return f"<h3>{escape(block.text)}</h3>"
    if isinstance(block, Bullets):
        items = "".join(f"<li>{escape(item)}</li>" for item in block.items)
        return f"<ul>{items}</ul>"
    if isinstance(block, Facts):
        rows = "".join(
            f'<tr><th scope="row">{escape(label)}</th><td>{escape(value)}</td></tr>'
            for label, value in block.rows
        )
        return f'<table class="facts"><tbody>{rows}</tbody></table>'
    if isinstance(block, Table):
        head = "".join(f"<th>{escape(h)}</th>" for h in block.header)
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in block.rows
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    if isinstance(block, Image):
        # A width keeps viewers without CSS (Qt's rich text) inside the page, aspect kept.
        src, alt = escape(block.src), escape(block.alt)
        return f'<p><img src="{src}" alt="{alt}" width="{IMAGE_WIDTH}"></p>'
    raise TypeError(f"unknown block {block!r}")


def document_html(doc: Document) -> str:
    """The same sections and words as the Markdown, styled, charts as <img> beside the file."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(doc.title)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{escape(doc.title)}</h1>",
    ]
    for section in doc.sections:
        parts.append(f"<section><h2>{escape(section.title)}</h2>")
        parts.extend(_block(b) for b in section.blocks)
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
