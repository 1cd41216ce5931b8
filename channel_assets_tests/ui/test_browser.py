"""The operator's day in the Dagster UI, in headless Chromium (Debian's chromium + chromium-driver,
driven by Selenium): the asset graph, channel_metadata, one shard materialized through the
Materialize dialog, the run's success, the checks and the metadata, force_refresh_channels from the
Launchpad. A screenshot per step goes to the test's tmp dir (path printed); with
CHANNEL_ASSETS_UPDATE_SCREENSHOTS=1 also to docs/screenshots/ (the operator guide's pictures).

Selectors are visible text and ARIA roles, not Dagster's CSS classes.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from channel_assets.db.core.models import Channel, ChannelUpdateLog

from .conftest import world_channel
from .stack import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         "--window-size=1280,800"]
SHARD = "07"
DOCS_SHOTS = ROOT / "docs" / "screenshots"

pytestmark = pytest.mark.skipif(
    not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; .ci/run does)")


@pytest.fixture
def browser(tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"]:
        options.add_argument(flag)
    # An explicit driver path: Selenium Manager never tries to download one.
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER, log_output=str(tmp_path / "chromedriver.log")),
                              options=options)
    try:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False})
        yield driver
    finally:
        driver.quit()


class Operator:
    """What an operator does: go to pages, read text, press buttons by their label."""

    def __init__(self, driver, base_url: str, shots: Path) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        self.d, self.url, self.shots, self.By = driver, base_url, shots, By
        self.wait = lambda timeout=30: WebDriverWait(driver, timeout, poll_frequency=0.25)
        self.saved: list[Path] = []

    def go(self, path: str) -> None:
        self.d.get(self.url + path)
        self.dismiss_community_dialog()

    def dismiss_community_dialog(self) -> None:
        """Dagster OSS greets a new browser with a 'Join the Dagster community' dialog: Skip it."""
        try:
            self.button("Skip", timeout=2).click()
        except Exception:  # noqa: BLE001 - absent once dismissed for this instance
            pass

    def text_visible(self, text: str, timeout: float = 30):
        xpath = f"//*[not(self::script) and not(self::style)][normalize-space(text())={self._lit(text)}]"
        return self.wait(timeout).until(
            lambda d: next((e for e in d.find_elements(self.By.XPATH, xpath) if e.is_displayed()), False),
            message=f"text {text!r} never became visible on {self.d.current_url}")

    def button(self, label: str, timeout: float = 30, within=None):
        xpath = f".//button[normalize-space()={self._lit(label)}] | .//*[@role='button'][normalize-space()={self._lit(label)}]"
        root = within or self.d

        def find(_):
            found = [e for e in root.find_elements(self.By.XPATH, xpath) if e.is_displayed() and e.is_enabled()]
            return found[0] if found else False

        return self.wait(timeout).until(find, message=f"no enabled button {label!r} on {self.d.current_url}")

    def dialog(self, timeout: float = 30):
        return self.wait(timeout).until(
            lambda d: next((e for e in d.find_elements(self.By.CSS_SELECTOR, "[role=dialog]") if e.is_displayed()),
                           False), message="no dialog opened")

    def shot(self, name: str) -> None:
        time.sleep(0.5)  # let transitions settle
        path = self.shots / f"{name}.png"
        self.d.save_screenshot(str(path))
        self.saved.append(path)
        if os.environ.get("CHANNEL_ASSETS_UPDATE_SCREENSHOTS") == "1":
            DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, DOCS_SHOTS / path.name)

    @staticmethod
    def _lit(text: str) -> str:
        return f"'{text}'" if "'" not in text else f'"{text}"'


# Two multiprocess runs (the UI's default executor: one process per step) take 1-4 minutes on 2 cores;
# it is part of `make test` all the same: CI must prove the operator's path works.
def test_operator_flow_in_the_browser(ui_stack, browser, tmp_path):
    shots = tmp_path / "screenshots"
    shots.mkdir()
    op = Operator(browser, ui_stack.dagster.url, shots)
    print(f"screenshots in {shots}")
    try:
        _operator_flow(op, ui_stack, browser)
    except Exception:
        browser.save_screenshot(str(shots / "failure.png"))
        print(f"failure screenshot: {shots / 'failure.png'}")
        raise


def _operator_flow(op: Operator, ui_stack, browser) -> None:
    from selenium.webdriver.common.keys import Keys


    # 1. The asset graph: the three groups and the assets in them.
    op.go("/asset-groups")
    for group in ("refresh", "cleanup", "reporting"):
        op.text_visible(group)
    op.go(f"/locations/{ui_stack.location}/asset-groups/refresh")
    for asset in ("channel_metadata", "channel_uploads", "channel_statistics"):
        op.text_visible(asset)
    op.shot("01-asset-graph-refresh")

    # 2. channel_metadata: its description, kinds, owner, checks and freshness policy.
    op.go("/assets/channel_metadata")
    op.text_visible("channel_metadata")
    op.text_visible("gallery-data")
    op.text_visible("Freshness policy")
    op.shot("02-channel-metadata")

    # 3. Materialize one shard: the partition dialog, custom selection, one key.
    op.button("Materialize…").click()
    dialog = op.dialog()
    op.text_visible("Launch runs to materialize channel_metadata")
    dialog.find_element(op.By.XPATH, ".//*[normalize-space()='Select a partition or create one']").click()
    search = op.wait().until(lambda d: next((e for e in d.find_elements(op.By.CSS_SELECTOR, "input[placeholder]")
                                             if e.is_displayed() and "partition" in e.get_attribute("placeholder")
                                             .lower()), False), message="no partition filter")
    search.send_keys(SHARD)
    op.text_visible(SHARD).click()
    search.send_keys(Keys.ESCAPE)
    op.text_visible("1 partition")
    op.shot("03-materialize-one-shard")
    started = time.time()
    op.button("Launch 1 run", within=dialog).click()  # one shard: a run, not a backfill

    # 4. The run, found through GraphQL, watched in the UI until it succeeds.
    run_id = _wait_for_run_of_partition(ui_stack, SHARD, started)
    op.go(f"/runs/{run_id}")
    op.text_visible("Success", timeout=150)
    op.shot("04-run-succeeded")

    # 5. The check results and the materialization's metadata (counts, markdown tables).
    op.go("/assets/channel_metadata?view=checks")
    for check in ("freshness_within_frequency", "within_30_day_policy", "update_success_rate",
                  "quota_under_error_level"):
        op.text_visible(check)
    op.shot("05-checks")
    op.go(f"/assets/channel_metadata?view=partitions&partition={SHARD}")
    for label in ("due", "refreshed", "quota_units", "largest_changes"):
        op.text_visible(label)
    op.shot("06-materialization-metadata")

    # 6. force_refresh_channels from the Launchpad with one channel id.
    cid = world_channel(ui_stack.engine, exclude_shard=int(SHARD))
    op.go(f"/locations/{ui_stack.location}/jobs/force_refresh_channels/playground")
    op.wait().until(lambda d: d.find_elements(op.By.CSS_SELECTOR, ".CodeMirror"), message="no config editor")
    config = f"ops:\n  force_refresh_op:\n    config:\n      channel_ids:\n        - {cid}\n"
    # Typing into CodeMirror fights its auto-indent; the editor's own API sets the text as a paste would.
    browser.execute_script("document.querySelector('.CodeMirror').CodeMirror.setValue(arguments[0])", config)
    op.text_visible(cid)
    launch = op.button("Launch Run", timeout=60)  # enabled once the Launchpad has validated the config
    op.shot("07-launchpad-force-refresh")
    launch.click()
    op.wait(30).until(lambda d: "/runs/" in d.current_url, message="the Launchpad did not open the new run")
    forced_run = browser.current_url.rstrip("/").rsplit("/", 1)[-1].split("?")[0]
    op.text_visible("Success", timeout=150)
    op.shot("08-force-refresh-succeeded")

    with ui_stack.engine.connect() as conn:
        assert conn.execute(select(Channel.last_updated).where(Channel.channel_id == cid)).scalar_one()
        assert conn.execute(select(ChannelUpdateLog.id).where(ChannelUpdateLog.channel_id == cid,
                                                              ChannelUpdateLog.run_id == forced_run)).first()
    assert [p.name for p in op.saved] == sorted(p.name for p in op.saved) and len(op.saved) == 8


def _wait_for_run_of_partition(ui_stack, partition: str, since: float) -> str:
    query = """query($p: String!) { runsOrError(filter: {tags: [{key: "dagster/partition", value: $p}]}) {
               ... on Runs { results { runId creationTime tags { key value } } } } }"""

    def probe():
        runs = ui_stack.dagster.gql(query, {"p": partition})["runsOrError"]["results"]
        fresh = [r for r in runs if r["creationTime"] >= since - 5]
        return fresh[0]["runId"] if fresh else None

    from .stack import wait_for

    return wait_for("the shard's run to be created", probe, 90, ui_stack.dagster.procs, interval=1)
