"""Browser check of the dashboard at /_emulator/ui/ (Selenium, headless Debian Chromium).

Usage: dashboard.py BASE_URL ADMIN_TOKEN SCREENSHOT_DIR

Signs in through the URL fragment, invokes hello-lua from its tool page, watches a run of
hello-python arrive in the activations page's live tail (started by a plain POST while the page
stays open), opens it, replays it and waits for the comparison, forces catalogue row G402 on
hello-lua through the faults page and sees the tool page show it, then opens the planes page
(fold function hello, identity role TENANT_ADMIN, and the first Cortex API tenant's documents
when there is one). Prints one line per step, saves a screenshot per page into SCREENSHOT_DIR
and exits non-zero with the failing step on any failure. Every wait is a WebDriverWait (no fixed
sleeps).
"""
import json
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

TIMEOUT = 10
ORG_KEY = "RIV_dev_acme_local_key"


class Failure(Exception):
    pass


class Dashboard:
    def __init__(self, driver, base, token, shots):
        self.d, self.base, self.token, self.shots = driver, base, token, shots
        self.step_name = "start"
        self.fault_id = None

    # -- helpers ---------------------------------------------------------------------------

    def step(self, name):
        self.step_name = name

    def ok(self, detail=""):
        print(f"dashboard: {self.step_name}: ok{(' (' + detail + ')') if detail else ''}", flush=True)

    def banner(self):
        found = self.d.find_elements(By.CSS_SELECTOR, '[data-testid="error-banner"]')
        return found[0].text if found else None

    def until(self, what, fn, timeout=TIMEOUT):
        """Waits for fn(driver) to be truthy; an error banner on the page fails at once with its text."""

        def probe(d):
            text = self.banner()
            if text:
                raise Failure(f"error banner while waiting for {what}: {text}")
            if d.find_elements(By.CSS_SELECTOR, "dialog#login[open]"):
                message = d.find_element(By.ID, "login-message").text or "no token"
                raise Failure(f"the page asks for the admin token while waiting for {what}: {message}")
            return fn(d)

        try:
            return WebDriverWait(self.d, timeout, ignored_exceptions=(WebDriverException,)).until(probe)
        except TimeoutException:
            raise Failure(f"timed out after {timeout} s waiting for {what}") from None

    def css(self, selector, what=None):
        def visible(d):
            found = [e for e in d.find_elements(By.CSS_SELECTOR, selector) if e.is_displayed()]
            return found[0] if found else None

        return self.until(what or selector, visible)

    def click(self, selector):
        el = self.css(selector)
        self.d.execute_script("arguments[0].scrollIntoView({block: 'center'})", el)
        el.click()
        return el

    def shot(self, name, selector=None):
        if selector:
            self.d.execute_script("document.querySelector(arguments[0]).scrollIntoView({block: 'start'})", selector)
        path = os.path.join(self.shots, name)
        if not self.d.save_screenshot(path):
            raise Failure(f"could not save {path}")

    def admin_get(self, path):
        req = urllib.request.Request(f"{self.base}/_emulator/v1{path}", headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            return json.loads(r.read())

    def invoke_and_wait(self, expect_status):
        self.click("#invoke-btn")
        status = self.until(
            f"the response panel to show HTTP {expect_status}",
            lambda d: next((e for e in d.find_elements(By.CSS_SELECTOR, '#invoke-result [data-testid="invoke-status"]')
                            if e.get_attribute("data-status")), None))
        got = status.get_attribute("data-status")
        if got != str(expect_status):
            raise Failure(f"the response panel shows HTTP {got}, expected {expect_status}: {self.d.find_element(By.ID, 'invoke-result').text[:500]}")
        raw = self.css('[data-testid="invoke-raw"]').text
        try:
            envelope = json.loads(raw)
        except ValueError:
            raise Failure(f"the raw body is not JSON: {raw[:300]!r}") from None
        if envelope.get("statusCode") != expect_status or not isinstance(envelope.get("body"), str):
            raise Failure(f"the raw body is not an envelope with statusCode {expect_status}: {raw[:300]}")
        self.css('[data-testid="invoke-pretty"]')
        return envelope

    # -- the walk ----------------------------------------------------------------------------

    def run(self):
        d = self.d
        self.step("1 sign in through #token and list the tools")
        d.get(f"{self.base}/_emulator/ui/#token={self.token}")
        self.css('#tools-table [data-testid="tool-row"][data-id="hello-lua"]', "the tools table with hello-lua")
        if self.token in d.current_url:
            raise Failure(f"the token is still in the address bar: {d.current_url}")
        self.until("every tool's last run", lambda d: not any(e.text == "…" for e in d.find_elements(By.CSS_SELECTOR, '[data-testid="tool-last-run"]')))
        self.shot("tools.png")
        self.ok(f"{len(d.find_elements(By.CSS_SELECTOR, '[data-testid=tool-row]'))} tools")

        self.step("2 open hello-lua; the event editor holds its first test case")
        self.click('[data-testid="tool-row"][data-id="hello-lua"] [data-testid="tool-link"]')
        editor = self.css("#event-editor")
        cases = self.admin_get("/tools/hello-lua").get("test_cases") or []
        if not cases:
            raise Failure("GET /_emulator/v1/tools/hello-lua lists no test cases")
        try:
            shown = json.loads(editor.get_attribute("value"))
        except ValueError:
            raise Failure(f"the event editor does not hold JSON: {editor.get_attribute('value')!r}") from None
        if shown != cases[0]["event"]:
            raise Failure(f"the event editor holds {shown}, the first test case's event is {cases[0]['event']}")
        self.ok(f"case {cases[0]['name']}: {json.dumps(shown)}")

        self.step("3 invoke hello-lua from its tool page")
        envelope = self.invoke_and_wait(200)
        self.css('[data-testid="invoke-inner"]', "the decoded envelope body")
        self.css('[data-testid="invoke-logs"]', "the run's logs")
        self.shot("tool.png")
        self.ok(f"body {envelope['body']}")

        self.step("4 a run started outside the page appears in the live tail")
        self.click("#nav-activations")
        self.css('[data-testid="tail-status"][data-state="live"]', "the live tail to connect")
        self.css('#activations-body[data-loaded="1"]', "the activation list to load")
        # Proof that the page is not reloaded: a mark on window survives until the row shows.
        d.execute_script("window.__dashboardMark = 'still-here'")
        req = urllib.request.Request(
            f"{self.base}/api/v1/functions/hello-python/invoke", data=json.dumps({"event": {"name": "Tail"}}).encode(),
            headers={"Authorization": ORG_KEY, "Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
                act_id = r.headers.get("x-cortex-emu-activation-id")
                status = r.status
        except urllib.error.HTTPError as e:
            raise Failure(f"POST /api/v1/functions/hello-python/invoke answered {e.code}: {e.read()[:300]!r}") from None
        if status != 200 or not act_id:
            raise Failure(f"POST /api/v1/functions/hello-python/invoke answered {status} without an activation id")
        row_sel = f'tr[data-testid="activation-row"][data-id="{act_id}"]'
        row = self.css(row_sel, f"row {act_id} in the live tail")
        if row.get_attribute("data-live") != "1" or row.get_attribute("data-tool") != "hello-python":
            raise Failure(f"row {act_id} is not a live hello-python row: live={row.get_attribute('data-live')} tool={row.get_attribute('data-tool')}")
        if d.execute_script("return window.__dashboardMark") != "still-here":
            raise Failure("the page was reloaded while waiting for the live tail")
        self.shot("activations.png")
        self.ok(f"activation {act_id}")

        self.step("5 open that activation")
        self.click(f'{row_sel} [data-testid="activation-link"]')
        self.until(f"the detail of {act_id}", lambda d: any(e.text == act_id for e in d.find_elements(By.CSS_SELECTOR, '[data-testid="activation-id"]')))
        self.css("#activation-detail")
        self.css('[data-testid="activation-response-raw"]', "the activation's response")
        self.shot("activation.png")
        self.ok()

        self.step("6 replay it and see the comparison with a diff")
        self.click("#replay-btn")
        self.css('[data-testid="replay-compare"]', "the side-by-side comparison")
        diff = self.css('[data-testid="replay-diff"]', "the line diff")
        self.css('[data-testid="replay-link"]', "the link to the replay")
        self.shot("replay.png", "#replay-result")
        self.ok(f"{diff.get_attribute('data-changed') or 0} line(s) differ")

        self.step("7 add a fault forcing G402 on hello-lua, once")
        self.click("#nav-faults")
        form = self.css("#fault-form")
        self.until("catalogue row G402 in the select", lambda d: d.find_elements(By.CSS_SELECTOR, '#fault-response option[value="G402"]'))
        self.until("hello-lua in the tool select", lambda d: d.find_elements(By.CSS_SELECTOR, '#fault-tool option[value="hello-lua"]'))
        Select(form.find_element(By.ID, "fault-response")).select_by_value("G402")
        Select(form.find_element(By.ID, "fault-tool")).select_by_value("hello-lua")
        times = form.find_element(By.ID, "fault-times")
        times.clear()
        times.send_keys("1")
        self.click("#fault-add-btn")
        fault = self.until("the new fault in the list", lambda d: next(
            (e for e in d.find_elements(By.CSS_SELECTOR, '[data-testid="fault-row"]') if "G402" in e.text and "hello-lua" in e.text), None))
        self.fault_id = fault.get_attribute("data-id")
        self.shot("faults.png")
        self.ok(self.fault_id)

        self.step("8 invoke hello-lua again: the tool page shows the forced 402")
        self.click("#nav-tools")
        self.click('[data-testid="tool-row"][data-id="hello-lua"] [data-testid="tool-link"]')
        self.css("#event-editor")
        self.invoke_and_wait(402)
        logs = self.until("the injected run's logs to name G402", lambda d: next(
            (e for e in d.find_elements(By.CSS_SELECTOR, '[data-testid="invoke-logs"]') if "G402" in e.text), None))
        self.fault_id = None  # used up
        self.ok(logs.text.strip().splitlines()[0])

        self.step("9 the planes page: fold function hello, role TENANT_ADMIN, a Cortex API tenant's documents if any")
        self.click("#nav-planes")
        self.css('[data-testid="planes-fold-functions"] [data-testid="fold-function-row"][data-name="hello"]',
                 "fold function hello in the fold functions table")
        self.css('[data-testid="planes-identity-roles"]', "the identity roles table")
        roles = [e.get_attribute("data-name") for e in d.find_elements(By.CSS_SELECTOR, '[data-testid="planes-identity-roles"] [data-testid="role-row"]')]
        if "TENANT_ADMIN" not in roles:
            raise Failure(f"the identity roles table lists {roles}, not TENANT_ADMIN")
        self.css('[data-testid="planes-fold-activations"], [data-testid="planes-fold-activations-empty"]', "the fold activations")
        self.css('[data-testid="planes-cortex-tenants"], [data-testid="planes-cortex-tenants-empty"]', "the Cortex API tenants")
        tenants = d.find_elements(By.CSS_SELECTOR, '[data-testid="planes-cortex-tenants"] [data-testid="cortex-tenant-row"]')
        self.shot("planes.png", "#main h1")
        detail = f"roles {', '.join(roles)}; {len(tenants)} Cortex API tenant(s)"
        if tenants:
            tenant = tenants[0].get_attribute("data-id")
            self.click(f'[data-testid="cortex-tenant-row"][data-id="{tenant}"] [data-testid="cortex-tenant-open"]')
            self.css(f'[data-testid="planes-cortex-documents"][data-tenant="{tenant}"], '
                     f'[data-testid="planes-cortex-documents-empty"][data-tenant="{tenant}"]', f"the documents of tenant {tenant}")
            shown = len(d.find_elements(By.CSS_SELECTOR, '[data-testid="planes-cortex-documents"] [data-testid="cortex-document-row"]'))
            expected = len(self.admin_get(f"/cortex-api/tenants/{tenant}/documents?limit=100").get("documents") or [])
            if shown != expected:
                raise Failure(f"the documents table of tenant {tenant} shows {shown} row(s), the admin API lists {expected}")
            self.shot("planes-documents.png", "#cortex-tenants")
            detail += f"; tenant {tenant}: {shown} document(s)"
        self.ok(detail)

        self.step("10 no script error in the console")
        errors = [e["message"] for e in d.get_log("browser") if e.get("level") == "SEVERE" and e.get("source") == "javascript"]
        if errors:
            raise Failure("; ".join(errors))
        self.ok()

    def cleanup(self):
        """A fault the run added and did not use up would hit the next client: remove it."""
        if not self.fault_id:
            return
        req = urllib.request.Request(f"{self.base}/_emulator/v1/faults/{self.fault_id}", method="DELETE",
                                     headers={"Authorization": f"Bearer {self.token}"})
        try:
            urllib.request.urlopen(req, timeout=TIMEOUT).read()
        except urllib.error.URLError:
            pass


def start_browser(profile):
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,800", f"--user-data-dir={profile}"]:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)


def main():
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    base, token, shots = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    os.makedirs(shots, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="cortex-emu-dashboard-")
    driver = None
    try:
        driver = start_browser(profile)
        walk = Dashboard(driver, base, token, shots)
        try:
            walk.run()
        except (Failure, WebDriverException, urllib.error.URLError, AssertionError) as e:
            message = getattr(e, "msg", None) or str(e)
            print(f"dashboard: FAILED at step {walk.step_name!r}: {message.strip()}", file=sys.stderr)
            try:
                driver.save_screenshot(os.path.join(shots, "failure.png"))
                print(f"dashboard: the page at the failure is in {os.path.join(shots, 'failure.png')}", file=sys.stderr)
            except WebDriverException:
                pass
            return 1
        finally:
            walk.cleanup()
        print("dashboard: all steps passed")
        return 0
    except WebDriverException as e:
        print(f"dashboard: FAILED to start Chromium: {e.msg}", file=sys.stderr)
        return 1
    finally:
        if driver:
            driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
