"""The HTML report, checked statically: self-contained, escaped, locked down by its CSP."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser

from helpers_report import build_dataset, empty_dataset

from triage.report import render
from triage.report.html import script_json


class _Scan(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.urls: list[str] = []
        self.script_text: list[str] = []
        self._in_script = False
        self.csp = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            self.scripts.append(a)
            self._in_script = True
            self.script_text.append("")
        if tag == "meta" and a.get("http-equiv") == "Content-Security-Policy":
            self.csp = a.get("content") or ""
        for key in ("src", "href"):
            if a.get(key) and not str(a[key]).startswith("#"):
                self.urls.append(str(a[key]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.script_text[-1] += data


def _scan(html: str) -> _Scan:
    p = _Scan()
    p.feed(html)
    return p


def test_self_contained_with_no_external_reference() -> None:
    html = render(build_dataset(), "html") or ""
    scan = _scan(html)
    assert scan.urls == []  # only in-page anchors
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", html)
    assert "<svg" in html and html.count('class="chart"') == 2
    assert "<style>" in html


def test_planted_markup_is_escaped_and_only_our_two_scripts_exist() -> None:
    html = render(build_dataset(hostile=True), "html") or ""
    scan = _scan(html)
    assert [s.get("type") for s in scan.scripts] == ["application/json", None]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" not in html
    assert "\x1b" not in html and "\u202e" not in html
    # the embedded JSON survives the HTML parser intact and holds the planted text as data
    data = json.loads(scan.script_text[0])
    assert "<script>alert(1)</script>" in data["findings"][1]["evidence"][-1]["text"]


def test_csp_allows_only_the_inline_script_it_hashes() -> None:
    html = render(build_dataset(), "html") or ""
    scan = _scan(html)
    code = scan.script_text[1]
    digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in scan.csp
    directives = dict(d.strip().split(" ", 1) for d in scan.csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == f"'sha256-{digest}'"  # no 'unsafe-inline' for scripts


def test_script_json_cannot_close_its_element() -> None:
    out = script_json({"t": "</script><!-- <script>x</script> ]]> \u2028"})
    assert "</" not in out and "<!--" not in out and "]]>" not in out and "\u2028" not in out
    assert json.loads(out)["t"] == "</script><!-- <script>x</script> ]]> \u2028"


def test_findings_table_details_and_empty_states() -> None:
    html = render(build_dataset(), "html") or ""
    assert html.count('class="finding-row"') == 3
    assert html.count('<article class="finding') == 3
    assert 'id="findings-table"' in html and 'data-filter-for="findings-table"' in html
    assert "bug-report-20091003141502.tar.bz2!guest-rhel47-web01.log:812" in html
    empty = render(empty_dataset(), "html") or ""
    assert "No documented issue matched." in empty and "No crash with a known time." in empty
