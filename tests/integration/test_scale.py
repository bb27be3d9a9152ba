"""The topology past one host, for real (separate processes): PostgreSQL + pgvector primary and
a streaming standby, two `newsrag serve` processes on the primary (both write), one on the
standby (reads only), llama.cpp's OpenAI-compatible server, HAProxy in front."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from retrieval.models.llamacpp_backend import bf16_gguf
from service.settings import get_settings
from service.topology import Topology, haproxy_path

pytestmark = pytest.mark.slow

PELICANS = {
    "title": "Pelicans return to the city lake",
    "text": "Two hundred pelicans returned to the city lake this week, rangers said on Friday. "
    "The birds had left the lake two years ago when a drought dried its northern shore.",
    "published": "2024-09-27",
}
STANDBY_LAG_BOUND_S = 5.0  # measured here: well under a second (the test prints it)
TOWNS = ["Arlen", "Brisk", "Cobalt", "Dunmore", "Elston", "Fairlow", "Glenby", "Harwick"]


def article(town: str, i: int) -> dict[str, str]:
    return {
        "title": f"{town} opens bridge number {i}",
        "text": f"The town of {town} opened its bridge number {i} over the river on Monday, "
        f"the mayor said. It took {i + 2} years to build and carries {100 * (i + 1)} cars "
        f"an hour.",
        "published": "2024-09-2" + str(i % 9),
    }


@pytest.fixture(scope="module")
def topo(seed_index_dir):
    haproxy_path()  # fails with how to install it
    from index.transfer import copy_index
    from retrieval.store.directory import IndexStore
    from retrieval.store.postgres import PostgresStore
    from tests.pg import fresh_database, local_standby, on_standby, start_server

    running = start_server()
    server = next(running)
    url = fresh_database(server)
    source = IndexStore.open(seed_index_dir, readonly=True)
    copy_index(source, PostgresStore.create(url, source.manifest))  # the seed, not re-embedded
    source.close()
    gguf = bf16_gguf("tiny", get_settings().cache_dir)
    env = {"NEWSRAG_PRESET": "tiny", "NEWSRAG_MIN_CONFIDENCE": "0"}
    with local_standby(server) as sock:
        t = Topology(None, gguf, env=env, store_url=url, standby_url=on_standby(url, sock))
        with t:
            yield t
    running.close()


def _search(url: str, query: str) -> list[dict]:
    r = httpx.post(f"{url}/search", json={"query": query, "top_k": 3}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()["results"]


def test_a_write_through_the_balancer_is_answerable_from_every_process(topo):
    r = httpx.put(f"{topo.url}/documents/pelicans", json=PELICANS, timeout=60)
    assert r.status_code == 200 and r.json()["added"] == ["pelicans"], r.text
    for node in ("node1", "node2"):  # on the primary: at once
        assert _search(topo.server_url(node), "pelicans city lake")[0]["article_id"] == "pelicans"
    started = time.monotonic()
    while time.monotonic() - started < STANDBY_LAG_BOUND_S:
        hits = _search(topo.server_url("standby"), "pelicans city lake")
        if hits and hits[0]["article_id"] == "pelicans":
            break
        time.sleep(0.05)
    lag = time.monotonic() - started
    print(f"the standby's process saw the new article after {lag:.2f} s")
    assert hits[0]["article_id"] == "pelicans", f"not on the standby after {lag:.1f} s"
    for _ in range(2):  # round robin: both primary processes answer through the balancer
        assert _search(topo.url, "pelicans city lake")[0]["article_id"] == "pelicans"
    r = httpx.post(f"{topo.url}/ask", json={"question": "How many pelicans returned?"}, timeout=120)
    assert r.status_code == 200, r.text
    assert "pelicans" in {c["article_id"] for c in r.json()["citations"]}


def test_two_processes_ingesting_at_once_lose_nothing_and_store_a_shared_article_once(topo):
    """Each primary process takes writes at the same time: distinct articles all land, and the
    same article sent to both at once is stored once."""
    before = httpx.get(f"{topo.url}/documents?limit=1", timeout=30).json()["total"]
    shared = article("Kestrel", 7)

    def send(node: str, town: str) -> list[str]:
        batch = [article(town, i) for i in range(4)] + [shared]
        r = httpx.post(f"{topo.server_url(node)}/documents", json={"articles": batch}, timeout=120)
        assert r.status_code == 200, r.text
        return [*r.json()["added"], *r.json()["updated"]]

    jobs = [("node1" if i % 2 else "node2", town) for i, town in enumerate(TOWNS)]
    with ThreadPoolExecutor(len(jobs)) as pool:
        added = [a for got in pool.map(lambda j: send(*j), jobs) for a in got]
    after = httpx.get(f"{topo.url}/documents?limit=1", timeout=30).json()["total"]
    assert after - before == 4 * len(TOWNS) + 1, (before, after)
    assert len(added) == 4 * len(TOWNS) + 1  # the shared one is "added" once, a duplicate after
    for town in TOWNS:
        hits = _search(topo.url, f"{town} bridge river")
        assert town in hits[0]["title"], (town, hits[0]["title"])


def test_the_standby_process_refuses_writes_and_ratings(topo):
    standby = topo.server_url("standby")
    r = httpx.put(f"{standby}/documents/x1", json=PELICANS, timeout=30)
    assert r.status_code == 409 and "standby" in r.json()["detail"], r.text
    question = {"question": "Where did the pelicans return?"}
    answered = httpx.post(f"{standby}/ask", json=question, timeout=120)
    assert answered.status_code == 200, answered.text  # reads: answered
    rated = httpx.post(
        f"{standby}/feedback",
        json={"answer_id": answered.json()["answer_id"], "rating": "up"},
        timeout=30,
    )
    assert rated.status_code == 409, rated.text


def test_killing_a_process_loses_no_request_once_the_balancer_notices(topo):
    results: list[tuple[float, int]] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            try:
                code = httpx.post(
                    f"{topo.url}/search", json={"query": "Armenian soldiers"}, timeout=30
                ).status_code
            except httpx.HTTPError:
                code = 0
            results.append((time.monotonic(), code))

    worker = threading.Thread(target=client)
    worker.start()
    time.sleep(1.0)
    topo.kill("node1")
    killed = time.monotonic()
    time.sleep(3.0)  # health checks every 300 ms, down after 2 failures
    stop.set()
    worker.join()
    after = [code for t, code in results if t > killed + 1.0]
    assert after and all(code == 200 for code in after), after
    lost = [code for t, code in results if code != 200]
    # With retries and redispatch even the requests in flight are re-sent to the other one.
    assert len(lost) <= 1, lost
    # Writes go on through the process left.
    r = httpx.put(f"{topo.url}/documents/after-kill", json=article("Lorne", 1), timeout=60)
    assert r.status_code == 200, r.text


def test_the_generator_going_away_is_a_clear_error_and_answers_resume(topo):
    question = {"question": "How many Armenian soldiers were killed?"}
    topo.kill("generator")
    r = httpx.post(f"{topo.url}/ask", json=question, timeout=120)
    assert r.status_code in (502, 503), r.text
    assert "generat" in r.json()["detail"].lower() or "server" in r.json()["detail"].lower()
    assert (
        httpx.post(f"{topo.url}/search", json={"query": "Armenia"}, timeout=30).status_code == 200
    )
    topo.restart_generator()
    r = httpx.post(f"{topo.url}/ask", json=question, timeout=120)
    assert r.status_code == 200, r.text
