"""Markdown descriptions turned into HTML that is safe to show."""

import html

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_parser = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

ALLOWED_TAGS = {
    "a", "p", "br", "strong", "em", "ul", "ol", "li", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "code", "pre", "hr", "table", "thead", "tbody", "tr", "th", "td",
}


def plain_text(text: str | None) -> str:
    """Markdown as the words a reader sees, without markup, for search engines and feeds."""
    words = nh3.clean(str(render_markdown(text)), tags=set())
    return " ".join(html.unescape(words).split())


def render_markdown(text: str | None) -> Markup:
    """Render Markdown, then keep only harmless tags and http(s)/mailto links.

    The text sits under the page's own <h1>, so a top-level heading ("# Programma") becomes
    an <h2>, as "## Programma" does, instead of losing its tag to the sanitiser.
    """
    tokens = _parser.parse(text or "")
    for token in tokens:
        if token.type in ("heading_open", "heading_close") and token.tag == "h1":
            token.tag = "h2"
    html = _parser.renderer.render(tokens, _parser.options, {})
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)
