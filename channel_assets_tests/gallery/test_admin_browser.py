"""A staff member's "Force update" in the gallery app's Django admin, in headless Chromium, served by the
pipeline: sign in, select a channel on the changelist, run the action, watch the request's page move to
done, see the channel's new title (the emulator's) on the changelist.

The app is `manage.py runserver` on a gallery database (Django's `migrate`, then `db upgrade`); the
pipeline's side runs here, in-process: the requests sensor evaluated once, its run executed against the
emulator. Every wait polls for a state (WebDriverWait, the server's answer), never a fixed sleep.
"""

from __future__ import annotations

import os
import sys

import httpx
import pytest

from channel_assets.app import api
from channel_assets.db.core import migrate
from channel_assets.db.core.engine import make_engine
from channel_assets.emulator import EmulatorServer, World
from channel_assets_tests.refresh.conftest import START
from channel_assets_tests.ui import test_browser as ui_browser
from channel_assets_tests.ui.stack import Proc, free_port, wait_for

from .conftest import SETTINGS, GalleryDatabase, orm
from .requests_pipeline import serve_requests

CHROMIUM, CHROMEDRIVER = ui_browser.CHROMIUM, ui_browser.CHROMEDRIVER
browser = ui_browser.browser  # the operator browser test's headless Chromium fixture, shared

PASSWORD = "correct horse battery staple"
NEW_TITLE = "Ann's Kitchen, Renamed"

pytestmark = pytest.mark.skipif(
    not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; .ci/run does)")


class GalleryServer:
    """`python -m django runserver` of the gallery test app on `url`, its output in `logs`."""

    def __init__(self, url: str, logs) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "GALLERY_DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": SETTINGS, "PYTHONUNBUFFERED": "1"}
        # --insecure: staticfiles serves the admin's CSS and JS with DEBUG off.
        argv = [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload", "--insecure"]
        self.proc = Proc("runserver", argv, env, logs)
        wait_for("the gallery app to answer", lambda: httpx.get(f"{self.url}/admin/login/").status_code == 200, 90,
                 [self.proc])

    def close(self) -> None:
        self.proc.stop()


class Admin:
    """What a staff member does in the Django admin: by names, labels and the admin's documented markup."""

    def __init__(self, driver, base_url: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        self.d, self.url, self.By = driver, base_url, By
        self.wait = lambda timeout=30: WebDriverWait(driver, timeout, poll_frequency=0.25)

    def sign_in(self, username: str, password: str) -> None:
        self.d.get(f"{self.url}/admin/login/?next=/admin/")
        self.d.find_element(self.By.NAME, "username").send_keys(username)
        self.d.find_element(self.By.NAME, "password").send_keys(password)
        self.d.find_element(self.By.CSS_SELECTOR, "input[type=submit]").click()
        self.wait().until(lambda d: d.find_elements(self.By.ID, "user-tools"), message="sign-in failed")

    def channel_row(self, channel_id: str):
        self.d.get(f"{self.url}/admin/videos/channel/")
        rows = self.d.find_elements(self.By.CSS_SELECTOR, "#result_list tbody tr")
        found = [r for r in rows if r.find_element(self.By.CSS_SELECTOR, "td.field-channel_id").text == channel_id]
        assert len(found) == 1, f"{channel_id} is not on the changelist once"
        return found[0]

    def force_update(self, channel_id: str) -> int:
        """Tick the channel, choose "Force update", Go; returns the request id the message names."""
        from selenium.webdriver.support.ui import Select

        self.channel_row(channel_id).find_element(self.By.CSS_SELECTOR, "input.action-select").click()
        Select(self.d.find_element(self.By.NAME, "action")).select_by_visible_text("Force update")
        self.d.find_element(self.By.CSS_SELECTOR, "button[name=index]").click()
        message = self.wait().until(
            lambda d: next(iter(d.find_elements(self.By.CSS_SELECTOR, "ul.messagelist li.success")), False),
            message="no success message after Force update")
        assert "queued for 1 channel(s)." in message.text, message.text
        link = message.find_element(self.By.TAG_NAME, "a")
        return int(link.text.removeprefix("Request "))

    def request_status(self, request_id: int) -> str:
        self.d.get(f"{self.url}/admin/channel_assets_django/pipelinerequest/{request_id}/change/")
        return self.d.find_element(self.By.CSS_SELECTOR, ".field-status .readonly").text

    def wait_request(self, request_id: int, status: str, timeout: float = 30) -> None:
        """Reload the request's page until it shows `status` (the page is server-rendered: a reload is a poll)."""
        self.wait(timeout).until(lambda _: self.request_status(request_id) == status,
                                 message=f"request {request_id} never showed {status!r}")

    def title_of(self, channel_id: str) -> str:
        return self.channel_row(channel_id).find_element(self.By.CSS_SELECTOR, ".field-title").text


@pytest.fixture
def world():
    server = EmulatorServer(World(40, 5, START)).start()
    yield server
    server.stop()


def test_force_update_from_the_admin_is_served_and_the_new_title_shown(gallery_template, world, browser, tmp_path):
    target, other = world.world.channel_id(3), world.world.channel_id(4)
    world.world.set_title(target, NEW_TITLE)
    logs = tmp_path / "logs"
    logs.mkdir()
    with GalleryDatabase(gallery_template) as url:
        engine = make_engine(url)
        app = None
        try:
            migrate.upgrade(engine)
            orm(url, "seed", {"users": ["viewer"], "channels": [
                {"channel_id": target, "title": "Imported Title", "active": [0]},
                {"channel_id": other, "title": "Another Channel", "active": [0]}]})
            orm(url, "create_staff", {"username": "ann", "password": PASSWORD})
            app = GalleryServer(url, logs)
            admin = Admin(browser, app.url)
            admin.sign_in("ann", PASSWORD)
            assert admin.title_of(target) == "Imported Title"

            request_id = admin.force_update(target)
            stored = api.request_status(url, request_id)
            assert (stored["status"], stored["channel_ids"], stored["requested_by"]) == ("queued", [target],
                                                                                        "staff:ann")
            assert admin.request_status(request_id) == "queued"

            served = serve_requests(url, world)
            assert request_id in served

            admin.wait_request(request_id, "done")
            assert api.request_status(url, request_id)["outcome"] == {target: "refreshed"}
            assert admin.title_of(target) == NEW_TITLE
            assert admin.title_of(other) == "Another Channel"  # not selected, not refreshed
        except Exception:
            browser.save_screenshot(str(tmp_path / "failure.png"))
            print(f"failure screenshot: {tmp_path / 'failure.png'}\n{app.proc.tail() if app else ''}")
            raise
        finally:
            if app is not None:
                app.close()
            engine.dispose()
