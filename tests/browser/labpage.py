"""What the browser tests read off a JupyterLab page (shared helpers).

All waits are on page content, never fixed sleeps.
"""

import re


def kernel_idle(page):
    # the status bar names the kernel and its state once a kernel exists; the
    # toolbar's circle says "idle" even before that, so it is not enough
    return page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle"))


def run_all_cells(page):
    page.locator("#jp-MainMenu").get_by_text("Run", exact=True).click()
    page.get_by_role("menuitem", name=re.compile("^Run All Cells")).click()


def image_src(page):
    return page.locator(".jp-OutputArea img.widget-image, .jp-OutputArea "
                        ".widget-image").first.get_attribute("src")


def status_text(page):
    # the explorer's status line (progress bars are HTML widgets too)
    return page.locator(".jp-OutputArea .widget-html-content",
                        has_text="learning rate =").first.inner_text()


def readout(page):
    return page.locator(".jp-OutputArea .widget-readout").first


def slider_handle(page):
    return page.locator(".jp-OutputArea .widget-slider .noUi-handle").first


def wait_for_new_run(page, old_src, timeout=60_000):
    """Until the explorer's image changed and its status says the run is over."""
    page.wait_for_function(
        """(old) => {
            const img = document.querySelector('.jp-OutputArea .widget-image');
            const html = [...document.querySelectorAll(
                '.jp-OutputArea .widget-html-content')].find(
                e => e.innerText.includes('learning rate ='));
            return img && img.getAttribute('src') && img.getAttribute('src') !== old
                && html && !html.innerText.includes('training…')
                && /trained in|from the cache/.test(html.innerText);
        }""", arg=old_src, timeout=timeout)


def printed_lr(page):
    match = re.search(r"learning rate = ([0-9.e+-]+),", status_text(page))
    assert match, status_text(page)
    return float(match.group(1))
