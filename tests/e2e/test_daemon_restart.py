"""relearnd keeps everything across restarts: after SIGTERM (exit 0, in-flight
requests finished) and after SIGKILL, a relearnd on the same data directory
serves the same workspaces, services, endpoints, keys and models, and scores
identically."""
import json
import signal
import socket
import threading
import time

import requests

from daemon_helpers import (answer_table, assert_error, bearer, classic_body, csv_text_rows,
                            download_model, publish, session, swagger_body, upload)


def here(d, service):
    """service's ApiLocation at this run's address (the port changes on restart)."""
    return d.url + service["ApiLocation"][service["ApiLocation"].index("/workspaces/"):]


def portless(d, obj):
    """obj with this run's base URL replaced, to compare runs on different ports."""
    return json.loads(json.dumps(obj).replace(d.url, "http://relearnd"))


def snapshot(d, s, pub, tok2, rows):
    """What must survive a restart, as seen over HTTP."""
    h = bearer(d.token)
    p, t = pub["PredictiveService"], pub["TrainingService"]
    base = f"{d.url}/workspaces/default/webservices"
    services = sorted(s.get(base, headers=h).json(), key=lambda x: x["Id"])
    eps = {}
    for sv in (p, t):
        ep = s.get(f"{base}/{sv['Id']}/endpoints/default", headers=h).json()
        for res in ep["Resources"]:  # a fresh read token each time
            res["Location"].pop("SasBlobToken")
        eps[sv["Id"]] = portless(d, ep)
    svc = s.get(f"{base}/{p['Id']}", headers=h).json()
    cols, vals = rows
    url = here(d, p) + "/execute?api-version=2.0"
    classic = s.post(url + "&details=true", json=classic_body(cols, vals),
                     headers=bearer(p["PrimaryKey"]))
    swagger = s.post(url + "&format=swagger", json=swagger_body(cols, vals),
                     headers=bearer(p["SecondaryKey"]))
    assert classic.status_code == 200 and swagger.status_code == 200
    ws2 = s.get(f"{d.url}/workspaces/second/webservices", headers=bearer(tok2))
    assert ws2.status_code == 200
    blob = s.get(f"{d.url}/storage/data/census.csv", headers=h)
    assert blob.status_code == 200
    return {"services": services, "endpoints": eps, "service": svc,
            "classic": classic.json(), "swagger": swagger.json(),
            "model": download_model(s.get(f"{base}/{p['Id']}/endpoints/default",
                                          headers=h).json()),
            "ws2": ws2.json(), "blob": blob.content}


def test_restart_keeps_everything(daemon, census):
    d, s = daemon, session()
    upload(s, d, census / "census.csv", "data/census.csv")
    pub = publish(s, d, "census", "data/census.csv")
    p = pub["PredictiveService"]
    # A regenerated key, and a second workspace with a service of its own.
    regen = (f"{d.url}/workspaces/default/webservices/{p['Id']}/endpoints/default/"
             "regeneratekeys")
    r = s.post(regen, json={"KeyName": "secondary"}, headers=bearer(d.token))
    assert r.status_code == 200
    old_secondary, p["SecondaryKey"] = p["SecondaryKey"], r.json()["SecondaryKey"]
    r = s.put(f"{d.url}/workspaces/second", headers=bearer(d.token))
    tok2 = r.json()["AuthorizationToken"]
    upload(s, d, census / "census.csv", "data/census.csv", token=tok2)
    p2 = publish(s, d, "other", "data/census.csv", token=tok2, ws="second")["PredictiveService"]
    rows = csv_text_rows(census / "census.csv", limit=100)
    want = snapshot(d, s, pub, tok2, rows)
    assert answer_table(want["classic"]) == answer_table(want["swagger"], swagger=True)

    def same_after_restart():
        s2 = session()
        got = snapshot(d, s2, pub, tok2, rows)
        for k in want:
            assert got[k] == want[k], k
        # The old key stays dead, keys stay isolated, the other workspace serves.
        url = here(d, p) + "/execute?api-version=2.0"
        assert_error(s2.post(url, json=classic_body(*rows), headers=bearer(old_secondary)), 401)
        assert_error(s2.post(url, json=classic_body(*rows), headers=bearer(p2["PrimaryKey"])), 403)
        r2 = s2.post(here(d, p2) + "/execute?api-version=2.0",
                     json=classic_body(*rows), headers=bearer(p2["PrimaryKey"]))
        assert r2.status_code == 200
        assert_error(s2.get(f"{d.url}/workspaces/default/webservices", headers=bearer(tok2)),
                     403)
        # And it goes on working: a new upload and publish.
        upload(s2, d, census / "census.csv", f"data/again-{time.monotonic_ns()}.csv")
        return s2

    token = d.token
    assert d.stop() == 0
    assert "relearnd: stopped" in d.log()
    d.start()
    assert d.token == token
    # The endpoints' locations follow the new address.
    ep = session().get(f"{d.url}/workspaces/default/webservices/{p['Id']}/endpoints/default",
                       headers=bearer(d.token)).json()
    assert ep["ApiLocation"] == here(d, p)
    assert ep["Resources"][0]["Location"]["BaseLocation"] == d.url + "/storage/"
    same_after_restart()
    # SIGKILL: no orderly stop at all.
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    d.proc = None
    d.start()
    s3 = same_after_restart()
    pub2 = publish(s3, d, "after-kill", "data/census.csv")
    assert pub2["PredictiveService"]["Id"] not in {p["Id"], p2["Id"]}
    assert d.stop() == 0


def test_sigterm_finishes_in_flight_request(daemon, census):
    d = daemon
    upload(session(), d, census / "census.csv", "data/census.csv")
    p = publish(session(), d, "census", "data/census.csv")["PredictiveService"]
    cols, rows = csv_text_rows(census / "census.csv", limit=200)
    body = json.dumps(classic_body(cols, rows)).encode()
    half = len(body) // 2
    stopped = threading.Event()
    refused = []

    def chunks():
        # The request is in flight (headers and half its body arrived on a
        # connection relearnd has accepted) when SIGTERM arrives; the rest
        # follows after.
        yield body[:half]
        time.sleep(0.3)
        d.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        # While it finishes this request, it no longer listens.
        try:
            socket.create_connection(("127.0.0.1", d.port), timeout=5).close()
            refused.append(False)
        except ConnectionRefusedError:
            refused.append(True)
        stopped.set()
        time.sleep(0.2)
        yield body[half:]
    # A keep-alive connection that relearnd has certainly accepted (a
    # connection still in the listen queue when it stops is reset).
    s = session()
    assert s.get(d.url + "/health").status_code == 200
    r = s.post(p["ApiLocation"] + "/execute?api-version=2.0", data=chunks(),
               headers=dict(bearer(p["PrimaryKey"]), **{"Content-Type": "application/json"}),
               timeout=60)
    assert stopped.is_set()
    assert refused == [True], "a new connection was accepted while relearnd was stopping"
    assert r.status_code == 200, r.text
    assert len(r.json()["Results"]["output1"]["value"]["Values"]) == 200
    assert d.proc.wait(timeout=30) == 0
    # New connections are refused once it stopped.
    try:
        requests.get(d.url + "/health", timeout=5)
        raise AssertionError("relearnd still answers after SIGTERM")
    except requests.ConnectionError:
        pass
    assert d.stop() == 0
