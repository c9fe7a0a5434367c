"""The post-mortem document as Markdown (GitHub-flavoured tables, images beside the file)."""

from __future__ import annotations

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


def _cell(text: str) -> str:
    # A pipe ends a cell and a newline ends a row: neither may come from the data.
    return text.replace("|", "\\|").replace("\n", " ")


def _block(block: Block) -> list[str]:
    if isinstance(block, Paragraph):
        return [block.text]
    if isinstance(block, Prompt):
        return [f"_{block.text}_"]
    if isinstance(block, Subheading):
        return [f"### {block.text}"]
    if isinstance(block, Bullets):
        return [f"- {item}" for item in block.items]
    if isinstance(block, Facts):
        return [f"- **{label}:** {value}" for label, value in block.rows]
    if isinstance(block, Table):
        lines = [
            "| " + " | ".join(_cell(h) for h in block.header) + " |",
            "|" + "|".join("---" for _ in block.header) + "|",
        ]
        lines.extend("| " + " | ".join(_cell(c) for c in row) + " |" for row in block.rows)
        return lines
    if isinstance(block, Image):
        return [f"![{block.alt}]({block.src})"]
    raise TypeError(f"unknown block {block!r}")


def document_markdown(doc: Document) -> str:
    """Title, then each section as a `##` heading with its blocks, blank lines between."""
    lines = [f"# {doc.title}", ""]
    for section in doc.sections:
        lines.extend([f"## {section.title}", ""])
        for block in section.blocks:
            lines.extend(_block(block))
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
