"""The learning-rate explorer in a real JupyterLab, driven by a real Chromium.

Open the notebook, wait for an idle kernel, run everything from the Run menu,
then move the slider with the keyboard, by typing into its readout and into
the box beside it; every
move must bring a new plot image and a printed learning rate equal to the
slider's value. All waits are on page content, never fixed sleeps.
"""

import pytest
from labpage import (
    image_src,
    kernel_idle,
    printed_lr,
    readout,
    run_all_cells,
    slider_handle,
    wait_for_new_run,
)

pytestmark = pytest.mark.browser


def test_slider_retrains_and_redraws(page, lab, tmp_path):
    page.goto(f"{lab['url']}/lab/tree/explorer.ipynb?reset")  # a fresh workspace
    kernel_idle(page).wait_for(timeout=60_000)

    run_all_cells(page)
    wait_for_new_run(page, None)
    first_src = image_src(page)
    assert printed_lr(page) == pytest.approx(0.3)
    assert float(readout(page).inner_text()) == pytest.approx(0.3)

    # keyboard: focus the slider's handle and step it up twice
    handle = slider_handle(page)
    handle.focus()
    handle.press("ArrowRight")
    wait_for_new_run(page, first_src)
    second_src = image_src(page)
    shown = float(readout(page).inner_text())
    assert shown > 0.3
    assert printed_lr(page) == pytest.approx(shown, rel=2e-3)

    # typing a value into the readout
    box = readout(page)
    box.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("0.05")
    page.keyboard.press("Enter")
    wait_for_new_run(page, second_src)
    assert float(readout(page).inner_text()) == pytest.approx(0.05, rel=2e-3)
    assert printed_lr(page) == pytest.approx(0.05, rel=2e-3)
    assert image_src(page) not in (first_src, second_src)
    third_src = image_src(page)

    # typing into the box beside the slider (a number field, not the readout)
    typed = page.locator(".jp-OutputArea .widget-text input").first
    typed.fill("2")
    typed.press("Enter")
    wait_for_new_run(page, third_src)
    assert printed_lr(page) == pytest.approx(2.0, rel=2e-3)
    assert float(readout(page).inner_text()) == pytest.approx(2.0, rel=2e-3)
    # the line on the keys is shown, and the slider's track is wide enough to aim
    assert page.locator(".jp-OutputArea .widget-html-content",
                        has_text="← →").count() == 1
    track = page.locator(".jp-OutputArea .widget-slider").first.bounding_box()
    assert track["width"] >= 300, track

    page.screenshot(path=str(tmp_path / "explorer.png"), full_page=True)
    # the explorer alone (docs/explorer.png is made from it)
    page.locator(".jp-OutputArea-output").filter(
        has=page.locator(".widget-slider")).first.screenshot(
        path=str(tmp_path / "explorer_widget.png"))
