"""Issue 23's lab items at 1366x768: a long check message wraps between words,
a skipped training run shows no progress bar, and the explorer says what it
trains on, how to step its slider finely, and labels its learning-rate axis.

Screenshots of each go to ``$COURSENET_SHOTS`` when it names a folder (for a
person to look at); the assertions read the page itself.
"""

import os
import re
from pathlib import Path

import nbformat
import pytest
from labpage import kernel_idle, run_all_cells, wait_for_new_run
from nbformat.v4 import new_code_cell, new_notebook

pytestmark = pytest.mark.browser

# a check message as long as the longest ones (two lines at 1366 px and more)
LONG = ("✗ loss_grad: the learning rate is applied twice, and the values underflow"
        " to zero everywhere the probabilities are small; every entry of your"
        " result differs from the reference by more than its tolerance, so look"
        " at the step where the gradient is divided by the probability of the true"
        " class and check that nothing else is divided by it")

# every place where the browser broke a line of the element: the characters
# either side of the break (a break mid-word has a letter on both sides)
LINE_BREAKS = """(pre) => {
    const walker = document.createTreeWalker(pre, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    const breaks = [];
    let lastTop = null, previous = '';
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (let i = 0; i < node.length; i++) {
            range.setStart(node, i);
            range.setEnd(node, i + 1);
            const box = range.getClientRects()[0];
            const char = node.data[i];
            if (!box || char === '\\n') { previous = char; continue; }
            if (lastTop !== null && box.top > lastTop + 2) breaks.push(previous + char);
            lastTop = box.top;
            previous = char;
        }
    }
    return breaks;
}"""


def _shot(page, name, tmp_path):
    folder = Path(os.environ.get("COURSENET_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name))


def _run_notebook(page, lab, name, timeout=300_000):
    page.goto(f"{lab['url']}/lab/tree/{name}?reset")
    kernel_idle(page).wait_for(timeout=60_000)
    run_all_cells(page)
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll(
                '.jp-Notebook .jp-CodeCell .jp-InputPrompt')].map(p => p.textContent);
            return prompts.some(p => /\\[\\d+\\]/.test(p))
                && !prompts.some(p => p.includes('*'));
        }""", timeout=timeout)
    kernel_idle(page).wait_for()


def test_a_long_check_message_wraps_between_words(page, lab, tmp_path):
    nb = new_notebook(cells=[new_code_cell(f"print({LONG!r})")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, lab["root"] / "long_message.ipynb")
    _run_notebook(page, lab, "long_message.ipynb", timeout=60_000)
    pre = page.locator(".jp-OutputArea-output pre", has_text="applied twice").first
    pre.scroll_into_view_if_needed()
    breaks = pre.evaluate(LINE_BREAKS)
    _shot(page, "long_message.png", tmp_path)
    assert breaks, "the message fits on one line: it tests nothing at this width"
    mid_word = [b for b in breaks if re.fullmatch(r"\w\w", b)]
    assert not mid_word, f"lines broken inside a word: {breaks}"


def test_the_explorer_says_how_to_aim_and_labels_its_rate_axis(page, lab, tmp_path):
    page.goto(f"{lab['url']}/lab/tree/explorer.ipynb?reset")
    kernel_idle(page).wait_for(timeout=60_000)
    run_all_cells(page)
    wait_for_new_run(page, None)
    help_line = page.locator(".jp-OutputArea .widget-html-content",
                             has_text="step the rate").first
    assert re.search(r"← →.*×1\.023", help_line.inner_text())
    box = page.locator(".jp-OutputArea .widget-text input, "
                       ".jp-OutputArea .widget-inline-hbox input[type=number]").first
    assert box.count() == 1 and float(box.input_value()) == pytest.approx(0.3)
    status = page.locator(".jp-OutputArea .widget-html-content",
                          has_text="learning rate =").first.inner_text()
    assert "the first 1,000 of the 4,500 training images" in status
    assert "asked for" not in status and "subset" not in status
    page.locator(".jp-OutputArea .widget-image").first.scroll_into_view_if_needed()
    _shot(page, "explorer.png", tmp_path)


def test_a_skipped_training_run_shows_no_progress_bar(page, lab, tmp_path):
    # the workbook, with nothing written: 03's training cell skips
    _run_notebook(page, lab, "student/03_scalar_training.ipynb", timeout=600_000)
    cell = page.locator(".jp-CodeCell", has_text="train_with_your_functions(").first
    cell.scroll_into_view_if_needed()
    # (textContent: Lab may leave a cell out of view unrendered for innerText)
    page.wait_for_function(
        """() => [...document.querySelectorAll('.jp-CodeCell')].some(c =>
            c.textContent.includes('train_with_your_functions(')
            && c.querySelector('.jp-OutputArea').textContent.includes('skipped'))""",
        timeout=30_000)
    _shot(page, "skipped_run.png", tmp_path)
    output = cell.locator(".jp-OutputArea").first
    assert output.locator(".widget-progress, progress").count() == 0
    assert not re.search(r"\d+%\|", output.text_content())
