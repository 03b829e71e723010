"""The HTML report in real headless Chromium: loads clean, works, and never runs planted script."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_report import build_dataset
from helpers_report_browser import Browser, find_chromium

from triage.report import render

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="module")
def browser():
    binary = find_chromium()
    if binary is None:
        pytest.skip("headless Chromium not installed (apt-get install chromium); HTML not run")
    pytest.importorskip("websocket", reason="websocket-client (test extra) not installed")
    b = Browser(binary)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="module")
def page(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Browser:
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(render(build_dataset(hostile=True, unexplained=6), "html") or "", "utf-8")
    browser.open(path)
    return browser


def test_loads_without_console_errors_or_dialogs(page: Browser) -> None:
    assert page.problems() == []
    assert page.evaluate("document.documentElement.dataset.ready") == "1"  # our JS ran


def test_planted_script_shows_as_text_and_never_runs(page: Browser) -> None:
    text = page.evaluate("document.body.innerText")
    assert "<script>alert(1)</script>" in text
    assert page.evaluate("document.scripts.length") == 2
    assert not [e for e in page.events if e["method"] == "Page.javascriptDialogOpening"]


def test_finding_rows_visible_filterable_sortable(page: Browser) -> None:
    visible = """[...document.querySelectorAll('#findings-table tbody tr')]
        .filter(r => !r.hidden && r.offsetParent !== null).length"""
    assert page.evaluate(visible) == 3
    assert "spurious page fault" in page.evaluate(
        "document.querySelector('#findings-table tbody tr').innerText"
    )
    page.evaluate(
        """(() => { const i = document.querySelector('input[data-filter-for=findings-table]');
        i.value = 'RHEL 5.3'; i.dispatchEvent(new Event('input')); })()"""
    )
    assert page.evaluate(visible) == 1
    assert page.evaluate("document.getElementById('findings-table-count').textContent") == (
        "1 of 3 shown"
    )
    page.evaluate(
        """(() => { const i = document.querySelector('input[data-filter-for=findings-table]');
        i.value = ''; i.dispatchEvent(new Event('input')); })()"""
    )
    # sort the crash groups by count, ascending then descending
    counts = "[...document.querySelectorAll('#groups-table tbody tr td:first-child')].map(c => +c.textContent)"
    page.evaluate("document.querySelector('#groups-table th').click()")
    asc = page.evaluate(counts)
    page.evaluate("document.querySelector('#groups-table th').click()")
    desc = page.evaluate(counts)
    assert asc == sorted(asc) and desc == sorted(desc, reverse=True) and asc != desc
    assert page.problems() == []


def test_screenshot_artifact(page: Browser) -> None:
    target = ARTIFACTS / "report-html.png"
    page.screenshot(target)
    assert target.stat().st_size > 20_000
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
