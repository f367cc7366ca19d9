"""The learning-rate explorer in a real JupyterLab, driven by a real Chromium.

Open the notebook, wait for an idle kernel, run everything from the Run menu,
then move the slider with the keyboard and by typing into its readout; every
move must bring a new plot image and a printed learning rate equal to the
slider's value. All waits are on page content, never fixed sleeps.
"""

import re

import pytest

pytestmark = pytest.mark.browser


def kernel_idle(page):
    # the status bar names the kernel and its state once a kernel exists; the
    # toolbar's circle says "idle" even before that, so it is not enough
    return page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle"))


def image_src(page):
    return page.locator(".jp-OutputArea img.widget-image, .jp-OutputArea "
                        ".widget-image").first.get_attribute("src")


def status_text(page):
    return page.locator(".jp-OutputArea .widget-html-content").first.inner_text()


def readout(page):
    return page.locator(".jp-OutputArea .widget-readout").first


def wait_for_new_run(page, old_src):
    """Until the image changed and the status says the run is over."""
    page.wait_for_function(
        """(old) => {
            const img = document.querySelector('.jp-OutputArea .widget-image');
            const html = document.querySelector('.jp-OutputArea .widget-html-content');
            return img && img.getAttribute('src') && img.getAttribute('src') !== old
                && html && !html.innerText.includes('training…')
                && /trained in|from the cache/.test(html.innerText);
        }""", arg=old_src)


def printed_lr(page):
    match = re.search(r"learning rate = ([0-9.e+-]+),", status_text(page))
    assert match, status_text(page)
    return float(match.group(1))


def test_slider_retrains_and_redraws(page, lab, tmp_path):
    page.goto(f"{lab['url']}/lab/tree/explorer.ipynb")
    kernel_idle(page).wait_for(timeout=60_000)

    page.locator("#jp-MainMenu").get_by_text("Run", exact=True).click()
    page.get_by_role("menuitem", name=re.compile("^Run All Cells")).click()
    wait_for_new_run(page, None)
    first_src = image_src(page)
    assert printed_lr(page) == pytest.approx(0.3)
    assert float(readout(page).inner_text()) == pytest.approx(0.3)

    # keyboard: focus the slider's handle and step it up twice
    handle = page.locator(".jp-OutputArea .widget-slider .noUi-handle").first
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

    page.screenshot(path=str(tmp_path / "explorer.png"), full_page=True)
