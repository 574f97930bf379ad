"""MkDocs hooks. (1) The notebook's markdown links name pages as ``guide.md`` (so they work in
Jupyter and on GitHub); mkdocs-jupyter renders the notebook without MkDocs' link
resolution, so those links are resolved here, and a link to a page that does not exist
fails the strict build as a broken Markdown link would. (2) After the build, no page may load
anything from the network."""

import re
from typing import Any

_HREF = re.compile(r'href="(?!https?:|#)([^"#]+)\.md(#[^"]*)?"')


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    if not page.file.src_uri.endswith(".ipynb"):
        return html
    known = {f.src_uri for f in files}

    def resolve(m: re.Match[str]) -> str:
        target = f"{m.group(1)}.md"
        if target not in known:
            raise ValueError(f"{page.file.src_uri}: link to a missing page {target}")
        url = files.get_file_from_path(target).url_relative_to(page.file)
        return f'href="{url}{m.group(2) or ""}"'

    return _HREF.sub(resolve, html)


_REMOTE = re.compile(r'<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)="(?:https?:)?//[^"]+"')


def on_post_build(config: Any) -> None:
    """The site must read offline: no page may load a script, style, font or image from the
    network (a theme feature or plugin that adds one fails the build here)."""
    from pathlib import Path

    for page in Path(config["site_dir"]).rglob("*.html"):
        found = _REMOTE.search(page.read_text(encoding="utf-8"))
        if found:
            raise ValueError(f"{page}: loads from the network: {found.group(0)[:120]}")
