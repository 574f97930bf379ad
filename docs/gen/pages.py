"""Run by mkdocs-gen-files at build time: writes the generated reference pages into the site
(never into docs/), from ``reference.py``."""

import sys
from pathlib import Path

import mkdocs_gen_files

sys.path.insert(0, str(Path(__file__).parent))
import reference  # noqa: E402

with mkdocs_gen_files.open("cli.md", "w") as f:
    f.write(reference.cli_markdown())
with mkdocs_gen_files.open("certificate-schema.md", "w") as f:
    f.write(reference.schema_markdown())
text, figures = reference.bench_markdown()
with mkdocs_gen_files.open("bench-results.md", "w") as f:
    f.write(text)
for png in figures:
    with mkdocs_gen_files.open(f"bench-results/{png.relative_to(reference.RESULTS).as_posix()}",
                               "wb") as f:
        f.write(png.read_bytes())
