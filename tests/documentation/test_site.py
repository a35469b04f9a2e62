"""Build the docs site with mkdocs and check what a reader sees on the API reference page.

The reference is rendered by mkdocstrings from the docstrings (Google style, see
mkdocs.yml). Written in another style, an example (``>>> ...``) renders as nested
blockquotes and a Sphinx role (``:func:`grad```) as raw text; a cross-reference that does
not resolve stays as ``[grad][autodiffx.grad]``. The site must also work offline: no page
may ask Google Fonts for a font. Needs the docs extra (``pip install -e ".[docs]"``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("mkdocs", reason="building the site needs the docs extra: .[docs]")
pytest.importorskip("mkdocstrings_handlers.python",
                    reason="building the site needs the docs extra: .[docs]")
pytest.importorskip("material", reason="building the site needs the docs extra: .[docs]")

ROLE = re.compile(r":(?:func|class|meth|mod|attr|exc|data|obj|ref|py:\w+):")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    environment = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
         "--site-dir", str(folder)],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    return folder


class _Text(HTMLParser):
    """The text of a page, split into what is inside <pre>/<code> and what is not."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.outside: list[str] = []
        self.inside: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in ("pre", "code"):
            self.depth += 1

    def handle_endtag(self, tag):
        if tag in ("pre", "code"):
            self.depth -= 1

    def handle_data(self, data):
        (self.inside if self.depth > 0 else self.outside).append(data)


def _read(page: Path) -> _Text:
    parser = _Text()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def test_the_reference_shows_no_raw_sphinx_roles(site):
    page = _read(site / "reference" / "index.html")
    found = [m.group(0) for text in page.outside + page.inside for m in ROLE.finditer(text)]
    assert not found, f"raw roles on the reference page: {sorted(set(found))}"


def test_the_reference_shows_examples_as_code(site):
    page = _read(site / "reference" / "index.html")
    prompts_inside = sum(text.count(">>>") for text in page.inside)
    outside = [text.strip() for text in page.outside if ">>>" in text or "..." == text.strip()]
    assert prompts_inside >= 40, "the examples are missing from the reference page"
    assert not [text for text in outside if ">>>" in text], outside
    assert "blockquote" not in page.tags, "an example rendered as nested blockquotes"


def test_the_reference_cross_references_resolve(site):
    page = _read(site / "reference" / "index.html")
    text = "".join(page.outside)
    assert not re.findall(r"\]\[autodiffx[\w.]*\]", text)
    html = (site / "reference" / "index.html").read_text(encoding="utf-8")
    assert 'href="#autodiffx.grad"' in html  # e.g. value_and_grad's "Like grad"


def test_no_page_asks_google_fonts(site):
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 10
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "fonts.googleapis" not in text and "fonts.gstatic" not in text, page
