#!/usr/bin/env python3
"""The HTTP side of scripts/resilience.sh (Python 3 standard library only).

    resilience_load.py setup BASE ADMIN_TOKEN
        describes the method the load reports on and puts it under assessment.
    resilience_load.py load BASE OUT_DIR TOKEN_FILE... [--reporters N] [--stop-file F]
        N reporters post decisions with report ids of their own choosing until F exists,
        each retrying the same body (same report_id) on connection errors, timeouts, 408,
        429 and 5xx until it is acknowledged (200 or 201). Writes OUT_DIR/acked.txt (one
        acknowledged report id a line), OUT_DIR/progress.json (every half second) and
        OUT_DIR/figures.json (at the end).
    resilience_load.py ready BASE SECONDS
        waits until /readyz answers 200.
    resilience_load.py wait-projected BASE ADMIN_TOKEN SECONDS
        waits until every projection is current (lag 0).
    resilience_load.py stats BASE TOKEN OUT_FILE
        writes the statistics (JSON and CSV, several groupings) to OUT_FILE.
    resilience_load.py check OUT_DIR EVENTS_CSV
        checks the stored events (EVENTS_CSV: stream_id, stream_version, event_id,
        event_type, correlation id of every case event) against OUT_DIR/acked.txt and
        OUT_DIR/sent.txt; prints the figures as JSON; exit code 1 on any failure.

Traffic goes to loopback only: BASE must be http://127.0.0.1:PORT, and proxies from the
environment are ignored.
"""

import json
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

# The load's method, and the organisations that report (each with its own token).
METHOD = "ID2023_245"
REQUEST_TIMEOUT = 10.0
# A report not acknowledged after this many seconds of retrying is given up (and counted):
# longer than any fault the script injects lasts.
GIVE_UP_AFTER = 120.0

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def loopback_only(base):
    parsed = urllib.parse.urlparse(base)
    if parsed.scheme != "http" or parsed.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"resilience_load: {base} is not a loopback address")


def request(method, url, token, body=None, accept="application/json"):
    """(status, headers, body bytes); raises OSError (URLError) on connection trouble."""
    data = None
    headers = {"Authorization": f"Bearer {token}", "Accept": accept}
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with OPENER.open(req, timeout=REQUEST_TIMEOUT) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def letters(u):
    """A case reference part from a uuid, in letters only: hex digits now and then spell a
    valid fødselsnummer, which the registry refuses in a case_ref."""
    return "".join(chr(ord("a") + int(c, 16)) for c in u.hex)


def decision(org, rng):
    report_id = uuid.uuid4()
    year = rng.choice([2024, 2025])
    month = rng.randint(1, 11)
    received = f"{year}-{month:02d}-{rng.randint(1, 14):02d}"
    decided = f"{year}-{month + 1:02d}-{rng.randint(1, 28):02d}"
    body = {
        "report_id": str(report_id),
        "case_ref": f"RES-{letters(report_id)}",
        "deciding_org": org,
        "scheme": "individual_exemption",
        "method_id": METHOD,
        "indication_icd10": "C64",
        "atc": "L01FF02",
        "patient": {
            "birth_year": rng.randint(1940, 2005),
            "sex": rng.choice(["female", "male"]),
            "residence_county": rng.choice(["03", "11", "15", "18", "31", "32", "33", "34", "39", "40", "42", "46", "50", "55", "56"]),
        },
        "received_date": received,
        "decided_date": decided,
    }
    if rng.random() < 0.7:
        body["outcome"] = "granted"
        body["criteria"] = {
            "marketing_authorisation": True,
            "standard_treatment_unsuitable": True,
            "substantially_larger_effect": True,
        }
    else:
        body["outcome"] = "refused"
        body["criteria"] = {
            "marketing_authorisation": True,
            "standard_treatment_unsuitable": rng.random() < 0.5,
            "substantially_larger_effect": False,
        }
        body["refusal_reasons"] = [rng.choice(["criteria_not_met", "no_expected_added_effect"])]
    return str(report_id), json.dumps(body).encode()


class Figures:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {
            "reports_started": 0,
            "acknowledged": 0,
            "acknowledged_201": 0,
            "acknowledged_200": 0,  # stored by an earlier attempt whose answer was lost
            "attempts": 0,
            "retries": 0,
            "connection_errors": 0,
            "timeouts": 0,
            "http_5xx": 0,
            "http_503": 0,
            "http_408_429": 0,
            "refused_4xx": 0,  # 4xx other than 408/429: a failure of the run
            "given_up": 0,
        }
        self.statuses = {}
        self.refusals = []
        self.latencies = []

    def add(self, **deltas):
        with self.lock:
            for key, delta in deltas.items():
                self.counts[key] += delta

    def status(self, code):
        with self.lock:
            self.statuses[str(code)] = self.statuses.get(str(code), 0) + 1


def reporter(index, base, token, org, stop_file, figures, files, acked_lock):
    acked_file, sent_file = files
    rng = random.Random(index * 7919 + int(time.time() * 1000))
    url = f"{base}/api/v1/decisions"
    while not os.path.exists(stop_file):
        report_id, body = decision(org, rng)
        with acked_lock:
            sent_file.write(report_id + "\n")
            sent_file.flush()
        figures.add(reports_started=1)
        started = time.monotonic()
        backoff = 0.05
        attempt = 0
        while True:
            attempt += 1
            figures.add(attempts=1, retries=1 if attempt > 1 else 0)
            retry_after = None
            try:
                status, headers, answer = request("POST", url, token, body)
            except TimeoutError:
                figures.add(timeouts=1)
                status = None
            except OSError as error:  # URLError, ConnectionResetError, RemoteDisconnected...
                if isinstance(getattr(error, "reason", None), TimeoutError):
                    figures.add(timeouts=1)
                else:
                    figures.add(connection_errors=1)
                status = None
            except Exception:  # http.client.RemoteDisconnected / BadStatusLine mid-answer
                figures.add(connection_errors=1)
                status = None
            if status is not None:
                figures.status(status)
            if status in (200, 201):
                answer = json.loads(answer)
                if answer.get("report_id") != report_id:
                    with figures.lock:
                        figures.refusals.append(f"{report_id}: answered for {answer.get('report_id')}")
                    figures.add(refused_4xx=1)
                    break
                with acked_lock:
                    acked_file.write(report_id + "\n")
                    acked_file.flush()
                figures.add(acknowledged=1, **{f"acknowledged_{status}": 1})
                with figures.lock:
                    figures.latencies.append(time.monotonic() - started)
                break
            if status is not None and 500 <= status:
                figures.add(http_5xx=1, http_503=1 if status == 503 else 0)
                retry_after = headers.get("Retry-After")
            elif status in (408, 429):
                figures.add(http_408_429=1)
                retry_after = headers.get("Retry-After")
            elif status is not None:
                figures.add(refused_4xx=1)
                with figures.lock:
                    figures.refusals.append(f"{report_id}: {status} {answer[:300]!r}")
                break
            if time.monotonic() - started > GIVE_UP_AFTER:
                figures.add(given_up=1)
                break
            wait = backoff
            if retry_after:
                try:
                    wait = max(wait, min(float(retry_after), 2.0))
                except ValueError:
                    pass
            time.sleep(wait * (0.5 + rng.random()))
            backoff = min(backoff * 2, 1.0)


def load(argv):
    base, out_dir = argv[0], argv[1]
    rest = argv[2:]
    reporters, stop_file, token_files = 8, os.path.join(out_dir, "stop"), []
    while rest:
        arg = rest.pop(0)
        if arg == "--reporters":
            reporters = int(rest.pop(0))
        elif arg == "--stop-file":
            stop_file = rest.pop(0)
        else:
            token_files.append(arg)
    loopback_only(base)
    tokens = []
    for path in token_files:  # each file: "ORG TOKEN"
        with open(path) as f:
            org, token = f.read().split()
            tokens.append((org, token))
    figures = Figures()
    acked_lock = threading.Lock()
    started = time.monotonic()
    with open(os.path.join(out_dir, "acked.txt"), "w") as acked_file, \
            open(os.path.join(out_dir, "sent.txt"), "w") as sent_file:
        threads = [
            threading.Thread(
                target=reporter,
                args=(i, base, tokens[i % len(tokens)][1], tokens[i % len(tokens)][0],
                      stop_file, figures, (acked_file, sent_file), acked_lock),
                daemon=True,
            )
            for i in range(reporters)
        ]
        for thread in threads:
            thread.start()

        def progress():
            with figures.lock:
                snapshot = dict(figures.counts)
            snapshot["seconds"] = round(time.monotonic() - started, 1)
            tmp = os.path.join(out_dir, "progress.json.tmp")
            with open(tmp, "w") as f:
                json.dump(snapshot, f)
            os.replace(tmp, os.path.join(out_dir, "progress.json"))

        while any(thread.is_alive() for thread in threads):
            progress()
            time.sleep(0.5)
        progress()
    seconds = time.monotonic() - started
    latencies = sorted(figures.latencies)

    def quantile(q):
        if not latencies:
            return None
        return round(latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000, 1)

    result = dict(figures.counts)
    result.update({
        "reporters": reporters,
        "seconds": round(seconds, 1),
        "acknowledged_per_second": round(figures.counts["acknowledged"] / seconds, 1) if seconds else 0,
        "ack_latency_ms_p50": quantile(0.50),
        "ack_latency_ms_p99": quantile(0.99),
        "ack_latency_ms_max": round(latencies[-1] * 1000, 1) if latencies else None,
        "statuses": figures.statuses,
        "refusals": figures.refusals[:20],
    })
    with open(os.path.join(out_dir, "figures.json"), "w") as f:
        json.dump(result, f, indent=1)
    return 0 if not figures.counts["refused_4xx"] and not figures.counts["given_up"] else 1


def checked(status, body, what):
    if status not in (200, 201):
        sys.exit(f"resilience_load: {what}: {status} {body[:500]!r}")
    return body


def setup(argv):
    base, admin = argv
    loopback_only(base)
    url = f"{base}/api/v1/methods/{METHOD}"
    status, _, body = request("PUT", url, admin, {
        "name": "Pembrolizumab, adjuvant ved nyrecellekarsinom",
        "atc": ["L01FF02"],
        "indication": "Nyrecellekarsinom etter nefrektomi",
    })
    checked(status, body, "describing the method")
    status, _, body = request("POST", f"{url}/status", admin, {
        "status": "under_assessment", "decision_date": "2023-03-01"})
    checked(status, body, "putting the method under assessment")
    return 0


def ready(argv):
    base, seconds = argv[0], float(argv[1])
    loopback_only(base)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            status, _, _ = request("GET", f"{base}/readyz", "none")
            if status == 200:
                return 0
        except Exception:
            pass
        time.sleep(0.1)
    sys.exit(f"resilience_load: {base}/readyz not 200 after {seconds:.0f} s")


def wait_projected(argv):
    base, admin, seconds = argv[0], argv[1], float(argv[2])
    loopback_only(base)
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        try:
            status, _, body = request("GET", f"{base}/api/v1/projections", admin)
            if status == 200:
                last = json.loads(body)
                if all(p["lag"] == 0 and p["state"] == "current" for p in last):
                    print(json.dumps(last))
                    return 0
        except OSError:
            pass
        time.sleep(0.5)
    sys.exit(f"resilience_load: projections not current after {seconds:.0f} s: {last}")


STATISTICS = [
    "/api/v1/stats/decisions?group_by=year,org,sex,age_band",
    "/api/v1/stats/decisions?group_by=year,region,refusal_reason&region_basis=residence",
    "/api/v1/stats/decisions?group_by=quarter,criterion",
    "/api/v1/stats/applications?group_by=year,region&region_basis=residence",
    "/api/v1/stats/processing-times?group_by=year,org",
    "/api/v1/stats/appeals?group_by=year",
    "/api/v1/stats/reporting-quality?group_by=org",
]


def stats(argv):
    base, token, out_file = argv
    loopback_only(base)
    result = {}
    for path in STATISTICS:
        for accept in ("application/json", "text/csv"):
            status, _, body = request("GET", base + path, token, accept=accept)
            checked(status, body, f"GET {path} ({accept})")
            if accept == "application/json":
                # The moment of the answer is the one field two answers on the same
                # events may differ in.
                answer = json.loads(body)
                answer.pop("generated_at", None)
                result[f"{accept} {path}"] = answer
            else:
                result[f"{accept} {path}"] = body.decode()
    with open(out_file, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    return 0


# The namespace of the event ids a report writes (crates/registry/src/cases.rs,
# report_event_ids): event i of report R has the id uuid5(namespace, "R/i").
REPORT_NAMESPACE = uuid.UUID("2d7b51c0-8e44-4f7a-a1b9-0c3e6d5f7a81")
DECISION_EVENTS = ["CaseReceived", "DecisionReported"]


def check(argv):
    """Every acknowledged report stored exactly once, whole; no partial case."""
    import csv
    out_dir, events_csv = argv
    with open(os.path.join(out_dir, "acked.txt")) as f:
        acked_lines = [line.strip() for line in f if line.strip()]
    with open(os.path.join(out_dir, "sent.txt")) as f:
        sent = {line.strip() for line in f if line.strip()}
    acked = set(acked_lines)
    reports = {}  # correlation id -> [(stream, version, event_id, type)]
    streams = {}  # stream -> [(version, type)]
    with open(events_csv, newline="") as f:
        for stream, version, event_id, event_type, report_id in csv.reader(f):
            version = int(version)
            reports.setdefault(report_id, []).append((stream, version, event_id, event_type))
            streams.setdefault(stream, []).append((version, event_type))
    failures = []

    def whole(report_id):
        """The report's events are exactly a decision's two, in one new stream, with the
        ids derived from the report id: stored once, not in part."""
        events = sorted(reports.get(report_id, []), key=lambda e: e[1])
        expected_ids = [str(uuid.uuid5(REPORT_NAMESPACE, f"{report_id}/{i}")) for i in range(2)]
        return (
            len(events) == 2
            and len({e[0] for e in events}) == 1
            and [e[1] for e in events] == [1, 2]
            and [e[3] for e in events] == DECISION_EVENTS
            and [e[2] for e in events] == expected_ids
        )

    missing = [r for r in acked if r not in reports]
    stored_once = [r for r in acked if whole(r)]
    not_once = [r for r in acked if r in reports and not whole(r)]
    unacked_stored = [r for r in reports if r not in acked]
    unacked_not_whole = [r for r in unacked_stored if not whole(r)]
    never_sent = [r for r in reports if r not in sent]
    partial_cases = []
    for stream, events in streams.items():
        events.sort()
        versions = [v for v, _ in events]
        types = [t for _, t in events]
        if (versions != list(range(1, len(events) + 1)) or types[0] != "CaseReceived"
                or "DecisionReported" not in types):
            partial_cases.append(stream)
    if len(acked_lines) != len(acked):
        failures.append(f"{len(acked_lines) - len(acked)} report ids acknowledged twice")
    for label, items in [
        ("acknowledged reports not stored", missing),
        ("acknowledged reports not stored exactly once and whole", not_once),
        ("unacknowledged reports stored in part", unacked_not_whole),
        ("stored reports no reporter sent", never_sent),
        ("partial cases (an application without its decision, or a gap)", partial_cases),
    ]:
        if items:
            failures.append(f"{len(items)} {label}, e.g. {sorted(items)[:3]}")
    result = {
        "reports_sent": len(sent),
        "acknowledged": len(acked),
        "acknowledged_stored_exactly_once": len(stored_once),
        "acknowledged_missing": len(missing),
        "stored_without_acknowledgement": len(unacked_stored),
        "case_streams": len(streams),
        "case_events": sum(len(e) for e in streams.values()),
        "partial_cases": len(partial_cases),
        "failures": failures,
    }
    print(json.dumps(result))
    return 1 if failures else 0


def main():
    command, argv = sys.argv[1], sys.argv[2:]
    commands = {"setup": setup, "load": load, "ready": ready, "wait-projected": wait_projected,
                "stats": stats, "check": check}
    if command not in commands:
        sys.exit(__doc__)
    sys.exit(commands[command](argv))


if __name__ == "__main__":
    main()
