"""LeNet-5 trained on MNIST, inspected over the 10,000 test images in under 60 s; the report opens in
headless Chromium with every image loaded and no console error.

The checkpoint comes from `convnp train` itself (a short run on the bundled MNIST sample); the
inspection reads the real MNIST test set from $CONVNP_TEST_DATA (default ../shared/data beside the
checkout; tests/data/data_helpers.py): absent, the test skips naming that setting, or fails under CI=true.

The browser is Debian's chromium (/usr/bin/chromium) driven by Playwright's Python package
(scripts/ci_browser_setup.sh installs both). In CI (CI=true) a missing browser or package fails
the test; elsewhere it skips.
"""

import os
import re
import shutil
import time

import pytest
from data_helpers import MNIST_DIR, SHARED, need

from convnp.cli import main

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _missing(what: str):
    if IN_CI:
        pytest.fail(f"{what} (CI must run scripts/ci_browser_setup.sh)")
    pytest.skip(f"{what} (the test runs in CI)")


@pytest.fixture(scope="module")
def mnist_report(tmp_path_factory):
    need(MNIST_DIR / "t10k-images-idx3-ubyte.gz")
    root = tmp_path_factory.mktemp("lenet")
    run = root / "run"
    assert (
        main(
            [
                "train",
                "lenet5",
                "--dataset",
                "mnist-sample",
                "--limit-train",
                "2000",
                "--epochs",
                "1",
                "--batch-size",
                "100",
                "--seed",
                "0",
                "--progress",
                "quiet",
                "--out",
                str(run),
            ]
        )
        == 0
    )
    out = root / "inspect"
    t = time.perf_counter()
    status = main(
        ["inspect", str(run / "best.safetensors"), "--dataset", "mnist", "--data-dir", str(SHARED), "--out", str(out)]
    )
    seconds = time.perf_counter() - t
    assert status == 0
    return out, seconds


@pytest.mark.slow
def test_lenet5_on_the_mnist_test_set_in_under_a_minute(mnist_report, capsys):
    out, seconds = mnist_report
    print(f"convnp inspect on 10,000 MNIST test images: {seconds:.1f} s")
    assert seconds < 60, f"convnp inspect took {seconds:.1f} s"
    html = (out / "report.html").read_text()
    # top-9 patches for every channel of the first two conv layers over the 10,000 test images
    assert "top-9 patches of every channel of c1 over 10,000 images" in html
    assert "top-9 patches of every channel of c3 over 10,000 images" in html
    assert re.search(r"accuracy</td><td>\d+\.\d\d% of 10,000 images", html)
    for name in (
        "top_patches_c1",
        "top_patches_c3",
        "filters_c1",
        "feature_maps_c3",
        "saliency",
        "grad_cam",
        "predictions",
        "confusion",
        "confused_pairs",
        "curves",
    ):
        assert (out / f"{name}.png").stat().st_size > 1000, name


@pytest.mark.slow
def test_report_opens_in_headless_chromium(mnist_report):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the Python package playwright is not installed")
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        _missing(f"{CHROMIUM} (Debian's chromium package) is not installed")
    out, _ = mnist_report
    url = (out / "report.html").resolve().as_uri()
    messages, requests = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, timeout=120_000)
        try:
            page = browser.new_page()
            page.on("console", lambda m: messages.append((m.type, m.text)))
            page.on("pageerror", lambda e: messages.append(("pageerror", str(e))))
            page.on("requestfailed", lambda r: messages.append(("requestfailed", r.url[:80])))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(url, wait_until="load", timeout=120_000)
            images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])")
            anchors = page.evaluate("Array.from(document.querySelectorAll('nav a')).map(a => a.getAttribute('href'))")
            found = page.evaluate("hrefs => hrefs.every(h => document.getElementById(h.slice(1)) !== null)", anchors)
        finally:
            browser.close()
    assert len(images) >= 15
    bad = [alt for complete, width, alt in images if not complete or width <= 0]
    assert not bad, f"images that did not load: {bad}"
    errors = [m for m in messages if m[0] in ("error", "pageerror", "requestfailed")]
    assert not errors, errors
    assert all(u.startswith(("file:", "data:")) for u in requests), [u[:60] for u in requests]
    assert found and "#layer-c1" in anchors and "#layer-c3" in anchors
