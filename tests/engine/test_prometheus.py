"""Real runs of the local target exported to real Prometheus components: the textfile
node_exporter reads, a Pushgateway queried back through Prometheus' own API, the live
/metrics endpoint scraped while the fault is in force, and this run against the last N."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from local_target import answers, free_port
from prometheus_client.parser import text_string_to_metric_families

PROMETHEUS = shutil.which("prometheus")
PUSHGATEWAY = shutil.which("prometheus-pushgateway")
needs_prometheus = pytest.mark.skipif(
    PROMETHEUS is None or PUSHGATEWAY is None,
    reason="Debian's prometheus and prometheus-pushgateway are not installed "
           "(./bootstrap.sh installs them)")
LABELS = {"scenario", "gap", "monitor", "iteration", "phase", "status", "ha_tests_verdict",
          "ha_tests_recovery_trend"}


def ha_tests(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "ha_tests.cli", *args], capture_output=True,
                          text=True, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def samples(text: str) -> list:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def value(found: list, name: str, **labels: str) -> float:
    matches = [s.value for s in found
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(matches) == 1, f"{name}{labels}: {matches}"
    return matches[0]


def the_summary(results: Path) -> dict:
    [path] = results.glob("*/summary.json")
    return json.loads(path.read_text())


def test_textfile_series_are_summary_json_figures_with_their_bounds(inventory_file,
                                                                     scenario_file, tmp_path):
    results, textfile = tmp_path / "results", tmp_path / "textfile" / "ha-tests.prom"
    ha_tests("run", str(scenario_file()), "-i", str(inventory_file), "-r", str(results), "-q",
             "--textfile", str(textfile))
    summary = the_summary(results)
    metrics = summary["monitors"]["web"]["iterations"][0]["metrics"]
    found = samples(textfile.read_text())
    web = {"scenario": "kill-web", "gap": "classic", "monitor": "web", "iteration": "0"}
    for key, stem, unit in (("recovery_time", "recovery", "seconds"),
                            ("longest_outage", "outage", "seconds"),
                            ("detection_time", "detection", "seconds"),
                            ("availability", "availability", "ratio")):
        bounded = metrics[key]
        assert value(found, f"ha_tests_{stem}_{unit}", **web) == bounded["value"]
        assert value(found, f"ha_tests_{stem}_lower_{unit}", **web) == bounded["lo"]
        assert value(found, f"ha_tests_{stem}_upper_{unit}", **web) == bounded["hi"]
    assert value(found, "ha_tests_outages", **web) == metrics["outage_count"] >= 1
    assert value(found, "ha_tests_baseline_latency_p95_seconds", **web) == \
        metrics["baseline_latency"]["p95"]
    assert value(found, "ha_tests_fault_latency_p95_seconds", **web) == \
        metrics["fault_latency"]["p95"]
    # the gap area's worst among gated monitors: the process monitor (gate: false) is not it
    assert value(found, "ha_tests_gap_recovery_seconds", gap="classic") == \
        metrics["recovery_time"]["value"]
    assert value(found, "ha_tests_verdict", scenario="kill-web", ha_tests_verdict="pass") == 1
    assert value(found, "ha_tests_verdict", scenario="kill-web", ha_tests_verdict="fail") == 0
    finished = value(found, "ha_tests_run_finished_timestamp_seconds", scenario="kill-web")
    assert abs(finished - time.time()) < 600  # the run's own time, not a constant
    # Prometheus conventions: one namespace, base units at the end, bounded label names
    for sample in found:
        assert sample.name.startswith("ha_tests_"), sample.name
        assert set(sample.labels) <= LABELS, sample.labels
    names = {f.name for f in text_string_to_metric_families(textfile.read_text())}
    assert not [n for n in names if re.search(r"_(ms|milliseconds|percent)$", n)]


@pytest.fixture
def pushgateway(tmp_path):
    port = free_port()
    proc = subprocess.Popen([PUSHGATEWAY, f"--web.listen-address=127.0.0.1:{port}",
                             f"--persistence.file={tmp_path / 'pushgateway.data'}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: answers(port), "the Pushgateway to listen")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def start_prometheus(tmp_path):
    """Starts real Prometheus servers scraping one target every second, data in tmp_path."""
    started = []

    def start(target: str) -> str:
        port, home = free_port(), tmp_path / f"prometheus-{len(started)}"
        home.mkdir()
        config = home / "prometheus.yml"
        config.write_text(textwrap.dedent(f"""\
            global: {{scrape_interval: 1s, evaluation_interval: 1s}}
            scrape_configs:
              - job_name: ha-tests
                honor_labels: true
                static_configs: [{{targets: ['{target}']}}]
            """))
        started.append(subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={home / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for(lambda: answers(port), "Prometheus to listen")
        return f"http://127.0.0.1:{port}"
    yield start
    for proc in started:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def prometheus(start_prometheus, pushgateway):
    """A real Prometheus scraping the Pushgateway."""
    return start_prometheus(pushgateway.removeprefix("http://"))


def wait_for(condition, what: str, limit: float = 60):
    """Waits (never asserts a duration): the limit only stops a hung component hanging CI."""
    deadline = time.monotonic() + limit
    while True:
        result = condition()
        if result:
            return result
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)


def query(prometheus: str, promql: str) -> list:
    url = f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    with urllib.request.urlopen(url, timeout=5) as response:
        answer = json.load(response)
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(row, panel, PromQL) of the shipped Grafana dashboard, its variable set to all."""
    from importlib.resources import files

    data = json.loads(files("ha_tests.report").joinpath(
        "grafana/ha-tests-dashboard.json").read_text())
    found, row = [], ""
    for panel in data["panels"]:
        if panel["type"] == "row":
            row = panel["title"]
            continue
        for target in panel["targets"]:
            found.append((row, panel["title"], target["expr"].replace("$scenario", ".*")))
    return found


def live_row(row: str) -> bool:
    return "in progress" in row


@needs_prometheus
def test_pushed_series_come_back_through_prometheus_query_api(inventory_file, scenario_file,
                                                              tmp_path, pushgateway, prometheus):
    results = tmp_path / "results"
    for _ in range(2):  # the second run has a trend against the first
        proc = ha_tests("run", str(scenario_file()), "-i", str(inventory_file), "-r",
                        str(results), "-q", "--push", pushgateway)
    assert f"metrics pushed: {pushgateway}" in proc.stderr
    last = json.loads(sorted(results.glob("*/summary.json"))[-1].read_text())
    recovery = last["monitors"]["web"]["iterations"][0]["metrics"]["recovery_time"]
    # only the second push has a trend: once Prometheus has it, it scraped that push
    wait_for(lambda: query(prometheus, "ha_tests_recovery_compared_runs"), "the second push")
    [series] = query(prometheus, 'ha_tests_recovery_upper_seconds{monitor="web"}')
    assert series["metric"]["job"] == "ha-tests"
    assert series["metric"]["inventory"] == "local"
    assert series["metric"]["scenario"] == "kill-web"
    assert float(series["value"][1]) == pytest.approx(recovery["hi"])
    [verdict] = query(prometheus, 'ha_tests_verdict{ha_tests_verdict="pass"}')
    assert verdict["value"][1] == "1"
    # every query of the shipped Grafana dashboard is PromQL this Prometheus runs, and each
    # one over pushed series finds them (the live row's series come from --metrics-port)
    for row, panel, promql in dashboard_queries():
        answer = query(prometheus, promql)
        if not live_row(row):
            assert answer, f"dashboard panel '{panel}': nothing for {promql}"


@needs_prometheus
def test_credentials_in_the_push_url_are_basic_auth_and_never_printed(inventory_file,
                                                                      scenario_file, tmp_path):
    bcrypt = pytest.importorskip("bcrypt")
    port, password = free_port(), "s3cret-gateway-pw"
    web_config = tmp_path / "web.yml"
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    web_config.write_text(f"basic_auth_users:\n  ops: '{hashed}'\n")
    gateway = subprocess.Popen([PUSHGATEWAY, f"--web.listen-address=127.0.0.1:{port}",
                                f"--web.config.file={web_config}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: answers(port), "the Pushgateway to listen")
        proc = ha_tests("run", str(scenario_file()), "-i", str(inventory_file), "-r",
                        str(tmp_path / "results"), "-q", "--push",
                        f"http://ops:{password}@127.0.0.1:{port}")
        assert f"metrics pushed: http://ops:***@127.0.0.1:{port}" in proc.stderr
        assert password not in proc.stdout + proc.stderr
        request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
        with pytest.raises(urllib.error.HTTPError):  # the gateway does want credentials
            urllib.request.urlopen(request, timeout=5)
        import base64
        token = base64.b64encode(f"ops:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=5) as response:
            found = samples(response.read().decode())
        assert value(found, "ha_tests_verdict", scenario="kill-web", ha_tests_verdict="pass",
                     job="ha-tests") == 1
    finally:
        gateway.terminate()
        gateway.wait(timeout=10)


def test_a_push_that_fails_is_a_warning_with_the_password_masked(inventory_file,
                                                                 scenario_file, tmp_path):
    port = free_port()  # nothing listens there
    proc = ha_tests("run", str(scenario_file()), "-i", str(inventory_file), "-r",
                    str(tmp_path / "results"), "-q", "--push",
                    f"http://ops:s3cret-pw@127.0.0.1:{port}")
    assert proc.returncode == 0  # the run passed; its results are on disk
    assert "warning: the run's metrics could not be exported" in proc.stderr
    assert "s3cret-pw" not in proc.stdout + proc.stderr


def test_a_metrics_port_in_use_is_bad_input_naming_the_flag(inventory_file, scenario_file,
                                                            tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = ha_tests("run", str(scenario_file()), "-i", str(inventory_file), "-r",
                        str(tmp_path / "results"), "-q", "--metrics-port", str(port),
                        check=False)
    assert proc.returncode == 2, proc.stderr
    assert "--metrics-port" in proc.stderr and "give a free port" in proc.stderr
    assert not list((tmp_path / "results").glob("*/summary.json"))  # nothing was run


def scrape(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            return response.read().decode()
    except OSError:
        return None


def test_metrics_port_shows_the_fault_while_it_is_in_force(inventory_file, scenario_file,
                                                           tmp_path):
    port = free_port()
    scenario = scenario_file(hold=2.0)
    runner = subprocess.Popen([sys.executable, "-m", "ha_tests.cli", "run", str(scenario),
                               "-i", str(inventory_file), "-r", str(tmp_path / "results"), "-q",
                               "--metrics-port", f"127.0.0.1:{port}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    scrapes = []
    try:
        while runner.poll() is None:
            text = scrape(port)
            if text:
                scrapes.append(samples(text))
            time.sleep(0.1)
    finally:
        if runner.poll() is None:
            runner.kill()
    stdout, stderr = runner.communicate()
    assert runner.returncode == 0, stdout + stderr
    assert f"metrics: http://127.0.0.1:{port}/metrics" in stderr

    def injected(found):
        return [s.value for s in found if s.name == "ha_tests_fault_injected"
                and s.labels["scenario"] == "kill-web"]
    during = [found for found in scrapes if injected(found) == [1.0]]
    assert during, "no scrape saw the fault in force"
    web_probes = [s.value for s in during[-1] if s.name == "ha_tests_samples_total"
                  and s.labels["monitor"] == "web"]
    assert sum(web_probes) > 0
    assert injected(scrapes[-1]) in ([0.0], [])  # rolled back (or gone) by the end
    # the dashboard's live row reads series this endpoint serves
    served = {s.name for found in during for s in found}
    for row, panel, promql in dashboard_queries():
        if live_row(row):
            names = set(re.findall(r"ha_tests_\w+", promql))
            assert names <= served, f"dashboard panel '{panel}' reads {names - served}"
    # once the summary is written, the same endpoint serves the headline figures
    finals = [found for found in scrapes
              if any(s.name == "ha_tests_recovery_seconds" for s in found)]
    if finals:
        summary = the_summary(tmp_path / "results")
        assert value(finals[-1], "ha_tests_recovery_seconds", monitor="web") == \
            summary["monitors"]["web"]["iterations"][0]["metrics"]["recovery_time"]["value"]
    assert scrape(port) is None  # the endpoint closes with the run


def test_this_run_against_the_last_runs_says_regressed_by_how_much(inventory_file,
                                                                   scenario_file, tmp_path):
    """A real slower recovery (the fault held 3 s) against two quick ones: bounds apart."""
    results, textfile = tmp_path / "results", tmp_path / "ha-tests.prom"
    quick = scenario_file()
    first, second = (ha_tests("run", str(quick), "-i", str(inventory_file), "-r",
                              str(results), "-q", "--last", "3") for _ in range(2))
    assert "kill-web: recovery: no earlier run with a recovery time" in first.stdout
    assert "in the last 1 run" in second.stdout
    slow = ha_tests("run", str(scenario_file(hold=3.0)), "-i", str(inventory_file), "-r",
                    str(results), "-q", "--last", "3", "--textfile", str(textfile))
    runs = sorted(results.glob("*/summary.json"))
    recoveries = [json.loads(p.read_text())["monitors"]["web"]["iterations"][0]["metrics"]
                  ["recovery_time"] for p in runs]
    earlier, now = recoveries[:2], recoveries[2]
    assert now["lo"] > max(e["hi"] for e in earlier)  # the real thing this test rests on
    assert "against the last 3 runs" in slow.stdout
    line = next(x for x in slow.stdout.splitlines() if "kill-web: recovery" in x)
    assert "REGRESSED by" in line and "in the last 2 runs" in line
    found = samples(textfile.read_text())
    mean = sum(e["value"] for e in earlier) / 2
    assert value(found, "ha_tests_recovery_change_seconds", scenario="kill-web") == \
        pytest.approx(now["value"] - mean)
    assert value(found, "ha_tests_recovery_change_lower_seconds", scenario="kill-web") == \
        pytest.approx(now["lo"] - max(e["hi"] for e in earlier))
    assert value(found, "ha_tests_recovery_trend", scenario="kill-web",
                 ha_tests_recovery_trend="regressed") == 1
    assert value(found, "ha_tests_recovery_compared_runs", scenario="kill-web") == 2

    # the same answer afterwards from the results alone
    report = ha_tests("report", str(runs[2].parent), "--history", str(results), "--last", "3",
                      "-o", str(tmp_path / "report.html"))
    assert "REGRESSED by" in report.stdout


@needs_prometheus
def test_prometheus_scraping_the_live_endpoint_recorded_the_fault_and_the_outage(
        inventory_file, scenario_file, tmp_path, start_prometheus):
    port = free_port()
    prometheus = start_prometheus(f"127.0.0.1:{port}")  # scrapes the run's endpoint
    ha_tests("run", str(scenario_file(hold=4.0)), "-i", str(inventory_file), "-r",
             str(tmp_path / "results"), "-q", "--metrics-port", f"127.0.0.1:{port}")
    [fault] = query(prometheus, 'max_over_time(ha_tests_fault_injected{scenario="kill-web"}'
                                '[10m])')
    assert fault["value"][1] == "1"
    [web] = query(prometheus, 'min_over_time(ha_tests_monitor_up{monitor="web"}[10m])')
    assert web["value"][1] == "0"  # the kill was seen while it lasted
    [probes] = query(prometheus, 'sum(max_over_time(ha_tests_samples_total{monitor="web",'
                                 'status!="ok"}[10m]))')
    assert float(probes["value"][1]) > 0
