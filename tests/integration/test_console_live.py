"""The web console in a real headless Chromium (Debian's chromium + chromedriver, driven by
Selenium) against a real daemon over TCP with tokens: sign in, start a tracefs session from
the form, live events, a gap drawn where a kernel loss falls, a report chart, "Open in
Perfetto" (against a stand-in for ui.perfetto.dev that speaks its postMessage protocol and
hands the trace back to the test), stop, and a viewer who sees no start button. A
screenshot of each step is kept under build/console/ (a CI artifact).

Also the Perfetto export and the per-session metrics through the daemon, without a browser.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import orjson
import pytest
from perfetto.protos.perfetto.trace import perfetto_trace_pb2 as pb
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.perfetto_read import ftrace_events, packets
from tests.unit.test_deploy import dashboard_metrics
from tracerd.reports.export.perfetto import PerfettoTrace
from tracerd.reports.export.rows import Row

from .conftest import DaemonProcess, wait_for

pytestmark = [pytest.mark.root, pytest.mark.tracefs]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "console"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROME_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)
GAP_TEXTS = "return [...document.querySelectorAll('#tail .gap')].map((e) => e.textContent)"
# the tail draws only the lines in view: scroll it to the first gap the page holds, and read
# the gaps drawn (polled: they are drawn at the next frame; new lines arriving while the
# view sits at the bottom carry it along)
SCROLL_TO_GAP = (
    """const i = st.lines.findIndex((l) => l.cls === 'gap');
if (i >= 0) document.querySelector('#tail').scrollTop = i * LINE_PX;
"""
    + GAP_TEXTS
)
PAGE_WEIGHT = """const page = ['navigation', 'script', 'link', 'css'];
return [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
  .filter((r) => page.includes(r.initiatorType)).reduce((n, r) => n + r.transferSize, 0)"""
TAIL_STATE = """return {lines: st.lines.length,
  gaps_kept: st.lines.filter((l) => l.cls === 'gap').length, pending: st.pending.length,
  lost: st.gaps, frames: st.prof.frames, shown: st.rate.total,
  visibility: document.visibilityState, scroll: document.querySelector('#tail').scrollTop}"""
TAIL_TEXT = "return document.querySelector('#tail').textContent"  # cheaper than WebElement.text
FAKE_PERFETTO = """<!doctype html><title>fake Perfetto UI</title><script>
window.addEventListener("message", (e) => {
  if (e.data === "PING") { e.source.postMessage("PONG", e.origin); return; }
  if (e.data && e.data.perfetto) {
    fetch("received?title=" + encodeURIComponent(e.data.perfetto.title),
          {method: "POST", body: e.data.perfetto.buffer});
  }
});
</script>"""


class FakePerfetto(http.server.BaseHTTPRequestHandler):
    """Serves the stand-in UI page and keeps what it posts back."""

    received: ClassVar[list[tuple[str, bytes]]] = []

    def do_GET(self) -> None:
        body = FAKE_PERFETTO.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        FakePerfetto.received.append((self.path, self.rfile.read(size)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def fake_perfetto() -> Iterator[str]:
    FakePerfetto.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakePerfetto)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/ui.html"
    finally:
        server.shutdown()
        server.server_close()


class PrefixProxy:
    """A reverse proxy that serves the daemon under /tracerd/ (as nginx's
    `location /tracerd/ { proxy_pass http://daemon/; }` with WebSocket upgrades passed):
    strips the prefix from each request line, one request per connection (it asks for
    `Connection: close`), upgrades piped both ways. Paths outside the prefix get a 404 and
    are kept in `refused`."""

    PREFIX = b"/tracerd"

    def __init__(self, upstream_url: str) -> None:
        host, _, port = upstream_url.removeprefix("http://").partition(":")
        self.upstream = (host, int(port.rstrip("/")))
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.paths: list[str] = []
        self.refused: list[str] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.server.close()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self.server.accept()
                threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        with client:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = client.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, rest = data.partition(b"\r\n\r\n")
            line, *headers = head.split(b"\r\n")
            method, path, version = line.split(b" ")
            if not path.startswith(self.PREFIX + b"/"):
                self.refused.append(path.decode())
                client.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                return
            self.paths.append(path.decode())
            upgrade = any(h.lower().startswith(b"upgrade:") for h in headers)
            headers = [h for h in headers if not h.lower().startswith(b"connection:")]
            headers.append(b"Connection: Upgrade" if upgrade else b"Connection: close")
            request = b" ".join((method, path[len(self.PREFIX) :], version))
            with socket.create_connection(self.upstream) as upstream:
                upstream.sendall(b"\r\n".join((request, *headers)) + b"\r\n\r\n" + rest)
                back = threading.Thread(target=self._pipe, args=(upstream, client), daemon=True)
                back.start()
                self._pipe(client, upstream)
                back.join(30)

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def browser(short_tmp: Path) -> Iterator[WebDriver]:
    for path in (CHROMIUM, CHROMEDRIVER):
        assert os.access(path, os.X_OK), f"{path} missing: scripts/setup.sh test installs it"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={short_tmp / 'chromium'}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def console_daemon(daemon_process: DaemonProcess) -> DaemonProcess:
    daemon_process.start()
    return daemon_process


def shot(driver: WebDriver, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def until(driver: WebDriver, predicate: Any, timeout_s: float = 30.0) -> Any:
    return WebDriverWait(driver, timeout_s, poll_frequency=0.1).until(lambda d: predicate(d))


def sign_in(driver: WebDriver, url: str, token: str) -> None:
    driver.get(url)
    until(driver, lambda d: d.find_element(By.ID, "signin").is_displayed())
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "#signin-form button[type=submit]").click()
    until(driver, lambda d: d.find_element(By.ID, "app").is_displayed())


def tail_events(driver: WebDriver) -> list[str]:
    rows = driver.find_elements(By.CSS_SELECTOR, "#tail .rows div:not(.meta):not(.gap)")
    return [r.text for r in rows]


@pytest.fixture
def gate(tmp_path: Path) -> Iterator[Path]:
    """A file whose creation ends `gated_getppid`'s loop (created at teardown at the latest)."""
    path = tmp_path / "gate"
    try:
        yield path
    finally:
        path.touch()


def gated_getppid(gate: Path, pause_s: float) -> str:
    """One line of Python: getppid() every `pause_s` until `gate` exists. A page subscribes
    live from now, so a fixed number of calls could all be made before a slow page (a
    loaded machine) subscribes; the test opens the gate once it has seen enough."""
    return (
        f"import os, time; [(os.getppid(), time.sleep({pause_s})) "
        f"for _ in iter(lambda: os.path.exists({str(gate)!r}), True)]"
    )


def test_console_signs_in_starts_streams_shows_gaps_reports_and_opens_perfetto(
    console_daemon: DaemonProcess, browser: WebDriver, fake_perfetto: str, gate: Path
) -> None:
    daemon = console_daemon
    url = f"{daemon.url}/?perfetto_ui={fake_perfetto}"
    sign_in(browser, url, daemon.admin)
    assert "(admin)" in browser.find_element(By.ID, "who").text
    weight = browser.execute_script(PAGE_WEIGHT)
    print(f"\nconsole page weight: {weight:,} B (document, scripts, styles)")
    assert 0 < weight < 300_000
    shot(browser, "1-signed-in")

    # a tracefs session from the form, with a command that makes events
    browser.find_element(By.ID, "new-session").click()
    Select(browser.find_element(By.ID, "kind")).select_by_value("tracefs")
    browser.find_element(By.ID, "c-name").send_keys("from the console")
    browser.find_element(By.ID, "c-events").send_keys("syscalls:sys_enter_getppid")
    script = gated_getppid(gate, 0.05)
    browser.find_element(By.ID, "c-command").send_keys(f"python3\n-c\n{script}")
    browser.find_element(By.CSS_SELECTOR, "#create-form button[type=submit]").click()
    until(browser, lambda d: d.find_element(By.ID, "session-panel").is_displayed())
    until(browser, lambda d: d.execute_script("return st.rate.total") >= 40)
    until(browser, lambda d: len(tail_events(d)) >= 10)  # the rows in view
    lines = tail_events(browser)
    assert all("syscalls:sys_enter_getppid" in line for line in lines)
    assert all(" python3-" in line for line in lines)
    title = browser.find_element(By.ID, "s-title").text
    sid = re.search(r"Session (\d+)", title).group(1)  # type: ignore[union-attr]
    shot(browser, "2-live")
    gate.touch()  # the command ends: the session stops

    with daemon.tcp(daemon.admin) as api:
        wait_for(lambda: api.get(f"/v1/sessions/{sid}").json()["state"] == "stopped", 60)
        session = api.get(f"/v1/sessions/{sid}").json()
        assert session["name"] == "from the console"
        assert session["counters"]["stored"] >= 40

        # the report chart for that session
        browser.find_element(By.CSS_SELECTOR, ".tabs button[data-tab='reports']").click()
        until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#report svg"))
        assert "syscalls:sys_enter_getppid" in browser.find_element(By.ID, "report").text
        shot(browser, "3-report")

        # Open in Perfetto: the stand-in UI gets the session's trace through postMessage
        browser.find_element(By.ID, "s-perfetto").click()
        until(browser, lambda d: FakePerfetto.received, 30)
        path, buffer = FakePerfetto.received[0]
        assert f"tracerd%20session%20{sid}" in path
        trace = pb.Trace.FromString(buffer)
        events = [
            e
            for p in trace.packet
            if p.WhichOneof("data") == "ftrace_events"
            for e in p.ftrace_events.event
        ]
        assert len(events) == session["counters"]["stored"] - count_stdout(api, sid)
        browser.switch_to.window(browser.window_handles[0])

        # a forced loss: a tiny buffer flooded with markers; the live view draws the gap
        loss = api.post(
            "/v1/sessions",
            json={"kind": "tracefs", "spec": {"events": ["ftrace:print"], "buffer_size_kb": 8}},
        ).json()
        until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f"tr[data-id='{loss['id']}']"))
        browser.find_element(By.CSS_SELECTOR, f"tr[data-id='{loss['id']}'] button").click()
        until(browser, lambda d: "state: running" in d.find_element(By.ID, "tail").text)
        marker = Path("/sys/kernel/tracing/instances") / loss["info"]["instance"] / "trace_marker"
        gaps = flood_until_a_gap_is_drawn(browser, marker)
        assert re.search(r"gap: [\d,]+ events lost \(kernel\)", gaps[0])
        shot(browser, "4-gap")

        # stop it from the page
        browser.find_element(By.ID, "s-stop").click()
        wait_for(lambda: api.get(f"/v1/sessions/{loss['id']}").json()["state"] == "stopped", 60)
        stopped = api.get(f"/v1/sessions/{loss['id']}").json()
        assert stopped["counters"]["lost"]["kernel"] > 0
        until(browser, lambda d: "stopped" in d.find_element(By.ID, "s-title").text)
        shot(browser, "5-stopped")

        # a viewer sees sessions but no start or stop buttons
        viewer = api.post("/v1/tokens", json={"name": "console-viewer", "role": "viewer"})
        browser.find_element(By.ID, "signout").click()
        sign_in(browser, url, viewer.json()["token"])
        assert not browser.find_element(By.ID, "new-session").is_displayed()
        until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f"tr[data-id='{sid}']"))
        row = browser.find_element(By.CSS_SELECTOR, f"tr[data-id='{sid}']")
        assert [b.text for b in row.find_elements(By.TAG_NAME, "button")] == ["Open"]
        shot(browser, "6-viewer")


def test_console_works_behind_a_reverse_proxy_under_a_prefix(
    console_daemon: DaemonProcess, browser: WebDriver, gate: Path
) -> None:
    """Relative URLs: signed in through a proxy that serves the daemon under /tracerd/ only,
    the page lists sessions and streams live events over the proxied WebSocket, and never
    asks for a path outside the prefix."""
    daemon = console_daemon
    proxy = PrefixProxy(daemon.url)
    try:
        with daemon.tcp(daemon.admin) as api:
            script = gated_getppid(gate, 0.02)
            spec = {"events": ["syscalls:sys_enter_getppid"], "command": ["python3", "-c", script]}
            sid = api.post("/v1/sessions", json={"kind": "tracefs", "spec": spec}).json()["id"]
            sign_in(browser, f"{proxy.url}/tracerd/", daemon.admin)
            until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f"tr[data-id='{sid}']"))
            browser.find_element(By.CSS_SELECTOR, f"tr[data-id='{sid}'] button").click()
            until(browser, lambda d: d.execute_script("return st.rate.total") >= 10)
            assert all("syscalls:sys_enter_getppid" in line for line in tail_events(browser))
            shot(browser, "8-behind-a-proxy")
            gate.touch()
            api.post(f"/v1/sessions/{sid}/stop")
    finally:
        proxy.close()
    assert not proxy.refused, proxy.refused
    assert f"/tracerd/v1/sessions/{sid}/stream" in " ".join(proxy.paths)
    assert "/tracerd/console/app.js" in proxy.paths


def flood_until_a_gap_is_drawn(driver: WebDriver, marker: Path) -> list[str]:
    """Bursts of markers into a tiny buffer until the tail draws a gap: the page keeps its
    last 1,500 lines, so a gap followed by more lines than that scrolls out of the tail
    (the rate line still counts it); a new burst makes a new one."""
    for burst in range(1, 7):
        fd = os.open(marker, os.O_WRONLY)
        try:
            for i in range(3000):
                os.write(fd, b"m%05d" % i)
        finally:
            os.close(fd)
        with contextlib.suppress(TimeoutException):
            gaps: list[str] = until(driver, lambda d: d.execute_script(SCROLL_TO_GAP), 10)
            print(f"\na gap drawn after {burst} burst(s) of 3,000 markers")
            return gaps
    state = driver.execute_script(TAIL_STATE)
    raise AssertionError(f"no gap drawn after 6 bursts: {state}")


def count_stdout(api: httpx.Client, sid: str) -> int:
    """Events of a launched command's output (not ftrace events: instants in Perfetto)."""
    report = api.get(f"/v1/sessions/{sid}/report").json()
    return sum(n["count"] for n in report["names"] if ":" not in n["name"])


def test_live_tail_keeps_up_with_a_flood_by_batching(
    console_daemon: DaemonProcess, browser: WebDriver
) -> None:
    """Every event of a getppid flood reaches the page's count or a drawn subscriber gap,
    and the DOM stays bounded; the rate the page keeps is printed (README's figure)."""
    daemon = console_daemon
    with daemon.tcp(daemon.admin) as api:
        session = api.post(
            "/v1/sessions",
            json={"kind": "tracefs", "spec": {"events": ["syscalls:sys_enter_getppid"]}},
        ).json()
        sid = session["id"]
        sign_in(browser, daemon.url, daemon.admin)
        until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f"tr[data-id='{sid}']"))
        browser.find_element(By.CSS_SELECTOR, f"tr[data-id='{sid}'] button").click()
        browser.execute_cdp_cmd("Performance.enable", {})
        browser.find_element(By.ID, "f-from").send_keys("0")
        browser.find_element(By.ID, "f-apply").click()  # from the first event: nothing missed
        until(browser, lambda d: "state: running" in d.find_element(By.ID, "tail").text)
        flood = shutil.which("python3") or "python3"
        started = time.monotonic()
        os.spawnv(
            os.P_WAIT, flood, [flood, "-c", "import os\nfor _ in range(300000): os.getppid()"]
        )
        api.post(f"/v1/sessions/{sid}/stop")
        until(browser, lambda d: "end of session" in d.execute_script(TAIL_TEXT), 180)
        elapsed = time.monotonic() - started
        rate = browser.execute_script("return st.rate")
        shown = int(rate["total"])
        events = api.get(f"/v1/sessions/{sid}/report").json()["events"]
        busy_s = (rate["lastAt"] - rate["firstAt"]) / 1000
        print(
            f"\nconsole tail: {shown:,} events rendered in {busy_s:.2f} s from the first to the"
            f" last batch = {shown / busy_s:,.0f} ev/s ({elapsed:.2f} s with the stop);"
            f" repeated seqs skipped: {rate['repeated']}"
        )
        prof = browser.execute_script("return st.prof")
        page_s = (prof["parseMs"] + prof["handleMs"] + prof["renderMs"]) / 1000
        cdp = browser.execute_cdp_cmd("Performance.getMetrics", {})
        main = {m["name"]: m["value"] for m in cdp["metrics"]}
        print(
            f"page main thread: JSON.parse {prof['parseMs']:.0f} ms over {prof['messages']}"
            f" messages, handling {prof['handleMs']:.0f} ms, {prof['frames']} frames drawn in"
            f" {prof['renderMs']:.0f} ms: {shown / page_s:,.0f} events per second of page time;"
            f" Chromium tasks {main['TaskDuration']:.2f} s (script {main['ScriptDuration']:.2f},"
            f" layout {main['LayoutDuration']:.2f}, style {main['RecalcStyleDuration']:.2f});"
            f" load average {os.getloadavg()[0]:.1f}"
        )
        assert events >= 300000
        gaps = browser.execute_script("return st.gaps")
        assert shown + gaps.get("subscriber", 0) == events, gaps
        assert browser.execute_script("return st.lines.length") <= 1500
        assert len(browser.find_elements(By.CSS_SELECTOR, "#tail .rows div")) <= 100
        shot(browser, "7-flood")


def metric_lines(text: str, name: str, sid: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line.startswith(name) and f'session="{sid}"' in line:
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


@pytest.mark.ptrace
def test_perfetto_export_of_a_ptrace_session_names_the_syscall_arguments(
    console_daemon: DaemonProcess, short_tmp: Path
) -> None:
    target = short_tmp / "hello.txt"
    target.write_text("hi\n")
    with console_daemon.unix() as api:
        spec = {"command": ["/bin/cat", str(target)], "syscalls": ["openat", "read"]}
        session = api.post("/v1/sessions", json={"kind": "ptrace", "spec": spec}).json()
        sid = session["id"]
        wait_for(lambda: api.get(f"/v1/sessions/{sid}").json()["state"] == "stopped", 60)
        stored = api.get(f"/v1/sessions/{sid}/events", params={"limit": 1000}).json()["events"]
        calls = [e for e in stored if "duration_ns" in e["fields"]]
        data = api.get(f"/v1/sessions/{sid}/export", params={"format": "perfetto"}).content
    trace = pb.Trace.FromString(data)
    begins = [p for p in trace.packet if p.HasField("track_event") and p.track_event.type == 1]
    assert [b.track_event.name for b in begins] == [e["name"] for e in calls]
    assert [b.timestamp for b in begins] == [e["ts_ns"] for e in calls]
    opened = next(
        b
        for b in begins
        if b.track_event.name == "openat"
        and any(str(target) in a.string_value for a in b.track_event.debug_annotations)
    )
    names = [a.name for a in opened.track_event.debug_annotations]
    assert names[:3] == ["dfd", "filename", "flags"]
    assert "ret" in names


@pytest.mark.bpf
def test_metrics_per_session_with_bpf_histograms_and_the_dashboard_names(
    console_daemon: DaemonProcess,
) -> None:
    """runqlat and biolatency sessions: their histograms in /metrics, and every metric the
    Grafana dashboard (deploy/grafana/) queries is in the daemon's real /metrics output."""
    with console_daemon.unix() as api:
        sids = []
        try:
            for tool in ("runqlat", "biolatency"):
                spec = {"tool": tool, "map_interval_s": 1.0}
                sids.append(
                    api.post("/v1/sessions", json={"kind": "bpf", "spec": spec}).json()["id"]
                )
            sid = sids[0]
            for s in sids:
                wait_for(lambda s=s: api.get(f"/v1/sessions/{s}").json()["state"] == "running", 120)
            for family in ("tracerd_bpf_runqlat_dist", "tracerd_bpf_biolatency_dist"):
                wait_for(lambda f=family: f in api.get("/metrics").text, 30)
            text = api.get("/metrics").text
            buckets = metric_lines(text, "tracerd_bpf_runqlat_dist_usecs_bucket", sid)
            counts = metric_lines(text, "tracerd_bpf_runqlat_dist_usecs_count", sid)
            assert buckets
            assert next(iter(counts.values())) == max(buckets.values())
            inf = next(v for k, v in buckets.items() if 'le="+Inf"' in k)
            assert inf == max(buckets.values())
            assert metric_lines(text, "tracerd_session_subscribers", sid)
            lost = metric_lines(text, "tracerd_session_lost_events_total", sid)
            assert {k.split('source="')[1].split('"')[0] for k in lost} >= {"kernel", "storage"}
            served = set(re.findall(r"^(tracerd_\w+)", text, re.M))
            used = dashboard_metrics()
            assert used
            assert used <= served, sorted(used - served)
        finally:
            for s in sids:
                api.post(f"/v1/sessions/{s}/stop")
        for s in sids:
            wait_for(lambda s=s: api.get(f"/v1/sessions/{s}").json()["state"] == "stopped", 60)
        assert not metric_lines(api.get("/metrics").text, "tracerd_session_events", sid)


def test_perfetto_export_of_a_sched_session_is_compact_and_reads_back_as_stored(
    console_daemon: DaemonProcess, short_tmp: Path
) -> None:
    """A scheduler-heavy tracefs session (threads ping-ponging through pipes): its export,
    with compact_sched expanded, is the stored events (count, tasks, fields, timestamps);
    the size against the typed-only form of the same events is printed (README's figure)."""
    events = ["sched:sched_switch", "sched:sched_waking"]
    pingpong = (
        "import os, threading\n"
        "a, b = os.pipe(); c, d = os.pipe()\n"
        "def pong():\n"
        "    for _ in range(3000): os.read(a, 1); os.write(d, b'x')\n"
        "t = threading.Thread(target=pong); t.start()\n"
        "for _ in range(3000): os.write(b, b'x'); os.read(c, 1)\n"
        "t.join()\n"
    )
    with console_daemon.unix() as api:
        spec = {"events": events, "command": ["python3", "-c", pingpong]}
        sid = api.post("/v1/sessions", json={"kind": "tracefs", "spec": spec}).json()["id"]
        wait_for(lambda: api.get(f"/v1/sessions/{sid}").json()["state"] == "stopped", 120)
        stored: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 10000, "name": events}
            if cursor:
                params["cursor"] = cursor
            page = api.get(f"/v1/sessions/{sid}/events", params=params).json()
            stored += page["events"]
            cursor = page["next_cursor"]
            if not cursor:
                break
        data = api.get(f"/v1/sessions/{sid}/export", params={"format": "perfetto"}).content
    assert len(stored) > 5000
    trace = pb.Trace.FromString(data)
    compact = sum(
        len(b.ftrace_events.compact_sched.switch_timestamp)
        + len(b.ftrace_events.compact_sched.waking_timestamp)
        for b in packets(trace, "ftrace_events")
    )
    assert compact > 0.9 * len(stored)
    got = sorted(ftrace_events(trace), key=lambda e: e[:4])
    want = sorted(
        (
            (e["cpu"], e["ts_ns"], e["tid"], e["name"].partition(":")[2], e["fields"])
            for e in stored
        ),
        key=lambda e: e[:4],
    )
    assert got == want
    # the same events encoded by the export with and without compact_sched
    rows = [
        Row(
            **{k: e.get(k) for k in Row._fields if k != "fields"},
            fields=orjson.dumps(e["fields"]).decode(),
        )
        for e in stored
    ]
    sizes = {}
    for on in (True, False):
        encoder = PerfettoTrace("tracefs", int(sid), 0, 0, compact_sched=on)
        sizes[on] = sum(
            len(encoder.encode(rows[i : i + 10_000])) for i in range(0, len(rows), 10_000)
        )
    print(
        f"\nperfetto export of {len(stored):,} sched events ({compact:,} compact):"
        f" {sizes[True]:,} B with compact_sched vs {sizes[False]:,} B typed only"
        f" ({sizes[True] / sizes[False]:.0%}); the daemon's file {len(data):,} B"
    )
    assert sizes[True] < 0.6 * sizes[False]
