"""MkDocs hooks. The notebook's markdown links name pages as ``guide.md`` (so they work in
Jupyter and on GitHub); mkdocs-jupyter renders the notebook without MkDocs' link
resolution, so those links are resolved here, and a link to a page that does not exist
fails the strict build as a broken Markdown link would."""

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
