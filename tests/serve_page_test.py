"""The page `serve` shows at `GET /`, driven in a real headless Chromium
(Selenium with Debian's chromium and chromium-driver): type a text, read the
label and the bars from the DOM; submit an empty and an oversized text, read
the error messages. A screenshot is kept in test-artifacts/serve_page.png.
"""

import json
import os
import re
import shutil
import urllib.request

import keras
import pytest

from tests.helpers import saved_sentiment_model, serve_process

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INSTALL = "apt-get install chromium chromium-driver (Debian/Ubuntu), then pip install selenium"
MAX_CHARS = 200

pytestmark = pytest.mark.skipif(
    keras.config.backend() != "torch",
    reason="the page does not depend on the backend: it is tested once, on torch",
)


def browser_or_skip():
    """(chromium binary, chromedriver) or skip with the command that installs them."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if binary is None or driver is None:
        pytest.skip(f"No Chromium and chromedriver on this machine. Install them: {INSTALL}")
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip(f"Selenium is not installed. Install it: {INSTALL}")
    return binary, driver


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("page")
    path = saved_sentiment_model(folder, texts=32, epochs=15, name="sentiment_demo")
    with serve_process(path, folder, "--max-text-chars", str(MAX_CHARS)) as running:
        yield running


@pytest.fixture(scope="module")
def browser(server):
    binary, driver_path = browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument("--window-size=1000,900")
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def submit(browser, text):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    box = browser.find_element(By.ID, "texts")
    box.clear()
    if text:
        # send_keys types character by character; set long texts directly.
        browser.execute_script("arguments[0].value = arguments[1];", box, text)
    browser.find_element(By.ID, "submit").click()
    WebDriverWait(browser, 30).until(
        lambda b: (
            b.find_element(By.ID, "submit").is_enabled()
            and (
                b.find_elements(By.CSS_SELECTOR, ".result")
                or b.find_element(By.ID, "error").is_displayed()
            )
        )
    )


def test_page_is_self_contained(server):
    base, _, _ = server
    with urllib.request.urlopen(base + "/") as r:
        assert r.status == 200 and r.headers["content-type"].startswith("text/html")
        page = r.read().decode()
    # Nothing from outside: no CDN script, stylesheet or font.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "the page loads a remote file"
    assert "@import" not in page and "fonts.googleapis" not in page
    assert 'href="/docs"' in page


def test_page_predicts_and_shows_errors(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    base, process, log = server
    browser.get(base + "/")
    WebDriverWait(browser, 30).until(
        lambda b: b.find_element(By.ID, "model-name").text == "sentiment_demo"
    )
    assert browser.find_element(By.ID, "backend").text == "torch"
    assert browser.find_element(By.ID, "labels").text == "negative, positive"
    assert browser.find_element(By.LINK_TEXT, "API documentation").get_attribute("href") == (
        base + "/docs"
    )

    # One text: its label and one bar per class, as the API answers it.
    submit(browser, "a wonderful film, really great")
    request = urllib.request.Request(
        base + "/predict",
        data=b'{"text": "a wonderful film, really great"}',
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request) as r:
        answer = json.loads(r.read())
    cards = browser.find_elements(By.CSS_SELECTOR, ".result")
    assert len(cards) == 1
    assert cards[0].find_element(By.CSS_SELECTOR, ".label").text == answer["label"]
    bars = cards[0].find_elements(By.CSS_SELECTOR, ".bar")
    shown = {
        b.get_attribute("data-label"): float(b.get_attribute("data-probability")) for b in bars
    }
    assert shown.keys() == answer["probabilities"].keys() == {"negative", "positive"}
    for label, p in answer["probabilities"].items():
        assert shown[label] == pytest.approx(p, abs=1e-9)
        bar = [b for b in bars if b.get_attribute("data-label") == label][0]
        width = bar.find_element(By.CSS_SELECTOR, ".fill").value_of_css_property("width")
        track = bar.find_element(By.CSS_SELECTOR, ".track").value_of_css_property("width")
        assert float(width[:-2]) / float(track[:-2]) == pytest.approx(p, abs=0.01)
    assert not browser.find_element(By.ID, "error").is_displayed()
    os.makedirs(os.path.join(ROOT, "test-artifacts"), exist_ok=True)
    browser.save_screenshot(os.path.join(ROOT, "test-artifacts", "serve_page.png"))

    # Two lines: two texts, one card each (POST /predict_batch).
    submit(browser, "the worst food, awful\nthe best service, nice")
    cards = browser.find_elements(By.CSS_SELECTOR, ".result")
    assert [c.find_element(By.CSS_SELECTOR, ".text").text for c in cards] == [
        "the worst food, awful",
        "the best service, nice",
    ]

    # An empty text: the API's 422, as a sentence.
    submit(browser, "")
    error = browser.find_element(By.ID, "error")
    assert error.is_displayed()
    assert error.text == "The text is empty: type or paste a text to classify."
    assert not browser.find_elements(By.CSS_SELECTOR, ".result")

    # A text over the server's limit: the API's 413, as a sentence with the limit.
    submit(browser, "good " * MAX_CHARS)
    assert browser.find_element(By.ID, "error").text == (
        f"The text is too long: the server takes at most {MAX_CHARS} characters per text."
    )
    browser.save_screenshot(os.path.join(ROOT, "test-artifacts", "serve_page_error.png"))

    # Whitespace only: the API's reason, readable.
    submit(browser, "   ")
    assert "blank" in browser.find_element(By.ID, "error").text
    assert process.poll() is None
    with open(log) as f:
        assert "Traceback" not in f.read()
