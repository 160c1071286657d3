"""The fault API shared by the platform fakes (tests/fakes/faults.py), checked through
FakeMastodon over real HTTP: random faults at given rates, counts by kind, and the
`violations` a client earns by posting before a reset the fake announced."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
import requests

from tests.fakes.faults import FaultPlan, ResetWatch
from tests.fakes.mastodon import FakeMastodon

TOKEN = "faults-token"
TIMEOUT = (2.0, 10.0)


class Clock:
    def __init__(self, now: float = 1_790_000_000.25) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def mastodon(clock: Clock) -> Iterator[FakeMastodon]:
    with FakeMastodon(token=TOKEN, clock=clock) as fake:
        yield fake
    assert fake.errors == []


def post(fake: FakeMastodon, text: str, *, key: str = "") -> requests.Response:
    headers = {"Authorization": f"Bearer {TOKEN}"} | ({"Idempotency-Key": key} if key else {})
    return requests.post(
        f"{fake.base_url}/api/v1/statuses", data={"status": text}, headers=headers, timeout=TIMEOUT
    )


def reset_of(response: requests.Response) -> float:
    return datetime.fromisoformat(response.headers["X-RateLimit-Reset"]).timestamp()


def test_random_faults_follow_the_seed_and_are_counted() -> None:
    rates = {"status": 0.10, "rate_limit": 0.05, "drop": 0.02, "reset": 0.01}
    draws = []
    for _ in range(2):
        plan = FaultPlan()
        plan.set_random(rates, seed=7, reset_in=(1.0, 3.0))
        draws.append([plan.next() for _ in range(2000)])
    assert draws[0] == draws[1]
    faults = [f for f in draws[0] if f is not None]
    by_kind = {k: sum(f.kind == k for f in faults) for k in rates}
    assert plan.injected == by_kind
    # Loose bounds: 2000 draws land well inside them for any seed (about 5 sigma).
    assert 140 < by_kind["status"] < 260 and 55 < by_kind["rate_limit"] < 145
    assert all(1.0 <= f.reset_in <= 3.0 for f in faults if f.kind == "rate_limit")


def test_scripted_faults_come_before_random_ones() -> None:
    plan = FaultPlan()
    plan.set_random({"status": 1.0}, seed=0, reset_in=(1.0, 1.0))
    plan.script("hang", count=2, hang_seconds=4.0)
    kinds = [(f.kind, f.hang_seconds) for f in (plan.next(), plan.next(), plan.next()) if f]
    assert kinds == [("hang", 4.0), ("hang", 4.0), ("status", 30.0)]
    assert plan.injected == {"hang": 2, "status": 1}


@pytest.mark.parametrize(
    "rates", [{"explode": 0.1}, {"status": 0.7, "drop": 0.4}, {"status": -0.1}]
)
def test_bad_rates_are_refused(rates: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        FaultPlan().set_random(rates, seed=0, reset_in=(1.0, 3.0))


def test_an_empty_rate_table_turns_random_faults_off() -> None:
    plan = FaultPlan()
    plan.set_random({"status": 1.0}, seed=0, reset_in=(1.0, 3.0))
    plan.set_random({}, seed=0, reset_in=(1.0, 3.0))
    assert plan.next() is None


def test_a_reset_watch_names_no_account_key() -> None:
    watch = ResetWatch()
    watch.announce("secret-token", 110.0)
    watch.announce("secret-token", 105.0)  # an earlier reset never shortens a later one
    assert watch.early("secret-token", 104.0, "POST x") == 110.0
    assert watch.early("secret-token", 110.0, "POST x") is None
    assert watch.early("other", 104.0, "POST x") is None
    [violation] = watch.violations
    assert violation.startswith("POST x at 104.000, 6.000s before")
    assert "secret-token" not in violation


def test_random_faults_reach_status_posts_and_are_counted(mastodon: FakeMastodon) -> None:
    mastodon.set_random_faults({"status": 1.0})
    instance = requests.get(f"{mastodon.base_url}/api/v2/instance", timeout=TIMEOUT)
    answers = [post(mastodon, f"post {n}").status_code for n in range(3)]

    assert instance.status_code == 200  # only post-creating requests get faults
    assert answers == [500, 500, 500]
    assert mastodon.faults_injected == {"status": 3}
    assert mastodon.posts == []


def test_a_post_before_the_announced_reset_is_a_violation(
    mastodon: FakeMastodon, clock: Clock
) -> None:
    mastodon.fail_next("rate_limit", reset_in=1.5)
    limited = post(mastodon, "first")
    clock.now = reset_of(limited) - 0.001
    early = post(mastodon, "too early")
    clock.now = reset_of(limited)
    on_time = post(mastodon, "on time")

    assert (limited.status_code, early.status_code, on_time.status_code) == (429, 429, 200)
    assert reset_of(early) == reset_of(limited)  # refused again, naming the same reset
    [violation] = mastodon.violations
    assert "POST /api/v1/statuses by @writer" in violation and TOKEN not in violation
    assert [p["text"] for p in mastodon.posts] == ["on time"]


def test_a_spent_request_quota_holds_back_posts_until_its_reset(clock: Clock) -> None:
    with FakeMastodon(token=TOKEN, clock=clock, rate_limit=1) as fake:
        assert post(fake, "one").status_code == 200
        refused = post(fake, "two")
        clock.now = reset_of(refused)
        again = post(fake, "three")

    assert refused.status_code == 429
    assert again.status_code == 200
    assert fake.violations == []


def test_posts_with_link_counts_statuses_carrying_the_url(mastodon: FakeMastodon) -> None:
    link = "https://blog.example.com/2026/01/post-1.html"
    post(mastodon, f"One {link}", key="a")
    post(mastodon, f"One {link}", key="a")  # an idempotent replay stores nothing new
    post(mastodon, "Ten https://blog.example.com/2026/01/post-10.html", key="b")
    mastodon.fail_next("drop")
    with pytest.raises(requests.ConnectionError):
        post(mastodon, f"Again {link}", key="c")  # accepted, then the answer is lost

    assert mastodon.posts_with_link(link) == 2
    assert mastodon.faults_injected == {"drop": 1}
