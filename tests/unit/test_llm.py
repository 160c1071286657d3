"""The optional model summariser against a loopback OpenAI-compatible endpoint."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from syndicate.errors import SyndicateError
from syndicate.summarise.llm import MAX_INPUT_CHARS, LLMError, LLMSummariser
from tests.fakes.llm import PATH, FakeLLM

KEY = "sk-test-secret-key"
TEXT = "Social Media gives a voice to those whom previously only spoke in small groups."


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    with FakeLLM(api_key=KEY, answer="Social media gives everyone a voice.") as server:
        yield server


def client(fake: FakeLLM, *, key: str = KEY, timeout: float = 2.0) -> LLMSummariser:
    return LLMSummariser(fake.base_url, "small-model", key, timeout)


def failure(summariser: LLMSummariser, max_chars: int = 300) -> str:
    with pytest.raises(LLMError) as raised:
        summariser.abstract("Day 1 at OMS 2011", TEXT, max_chars)
    message = str(raised.value)
    assert KEY not in message
    assert KEY not in repr(raised.value.__cause__)
    return message


def test_returns_the_model_answer(fake: FakeLLM) -> None:
    assert client(fake).abstract("Title", TEXT, 300) == "Social media gives everyone a voice."


def test_sends_an_openai_chat_request(fake: FakeLLM) -> None:
    client(fake).abstract("Day 1 at OMS 2011", TEXT, 280)

    (request,) = fake.received
    assert request.path == PATH
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.json["model"] == "small-model"
    assert request.json["temperature"] == 0
    system, user = request.json["messages"]
    assert system["role"] == "system"
    assert "280 characters" in system["content"]
    assert user == {"role": "user", "content": f"Title: Day 1 at OMS 2011\n\n{TEXT}"}


def test_no_key_sends_no_authorization_header() -> None:
    with FakeLLM(api_key="") as keyless:
        client(keyless, key="").abstract("Title", TEXT, 300)
        assert "authorization" not in keyless.received[0].headers


def test_a_long_post_is_cut_at_a_boundary_before_it_is_sent(fake: FakeLLM) -> None:
    text = "\n\n".join(f"Paragraph {n}. " + "word " * 200 for n in range(30))
    client(fake).abstract("Title", text, 300)

    sent = fake.received[0].json["messages"][1]["content"]
    assert len(sent) <= MAX_INPUT_CHARS + len("Title: Title\n\n")
    assert sent.endswith("word")


@pytest.mark.parametrize(
    ("answer", "plain"),
    [
        ('  "Social media gives everyone a voice."  ', "Social media gives everyone a voice."),
        ("“Quoted twice.”", "Quoted twice."),
        ("Summary: Two lines\nof text.", "Two lines of text."),
        ("<think>First, the post is about…</think>\nThe answer.", "The answer."),
        ('He said "hi" and left.', 'He said "hi" and left.'),
    ],
)
def test_answer_becomes_plain_text(fake: FakeLLM, answer: str, plain: str) -> None:
    fake.answer = answer
    assert client(fake).abstract("Title", TEXT, 300) == plain


def test_http_error_is_an_llm_error_naming_the_status(fake: FakeLLM) -> None:
    fake.fail_next("status", status=500)
    message = failure(client(fake))
    assert "HTTP 500" in message
    assert "error while processing" in message


def test_a_refused_key_never_shows_in_the_error(fake: FakeLLM) -> None:
    # The fake echoes the presented key in its 401 message, as OpenAI does.
    message = failure(LLMSummariser(fake.base_url, "small-model", "sk-wrong-key", 2.0))
    assert "HTTP 401" in message
    assert "sk-wrong-key" not in message
    assert "***" in message


def test_a_slow_answer_past_the_timeout_is_an_llm_error(fake: FakeLLM) -> None:
    fake.fail_next("slow", delay=5.0)
    assert "did not answer within 0.3 s" in failure(client(fake, timeout=0.3))


def test_malformed_json_is_an_llm_error(fake: FakeLLM) -> None:
    fake.fail_next("malformed")
    assert "malformed answer" in failure(client(fake))


def test_json_without_a_message_is_an_llm_error(fake: FakeLLM) -> None:
    fake.fail_next("malformed", body=b'{"choices": []}')
    assert "malformed answer" in failure(client(fake))


def test_an_answer_over_the_budget_is_an_llm_error(fake: FakeLLM) -> None:
    fake.fail_next("long", length=2000)
    assert "over the budget of 300" in failure(client(fake), max_chars=300)


def test_an_answer_cut_at_the_token_limit_is_an_llm_error(fake: FakeLLM) -> None:
    fake.fail_next("cut")
    assert "cut off" in failure(client(fake))


@pytest.mark.parametrize("answer", ["", "   ", "<p>Marked up.</p>"])
def test_empty_or_marked_up_answers_are_llm_errors(fake: FakeLLM, answer: str) -> None:
    fake.answer = answer
    failure(client(fake))


def test_an_unreachable_endpoint_is_an_llm_error() -> None:
    with FakeLLM() as stopped:
        base_url = stopped.base_url
    assert "could not be reached" in failure(LLMSummariser(base_url, "m", KEY, 1.0))


def test_a_wrong_path_is_an_llm_error(fake: FakeLLM) -> None:
    summariser = LLMSummariser(fake.base_url + "/extra", "small-model", KEY, 2.0)
    assert "HTTP 404" in failure(summariser)


def test_errors_belong_to_the_error_tree_and_the_key_stays_out_of_repr(fake: FakeLLM) -> None:
    assert issubclass(LLMError, SyndicateError)
    assert KEY not in repr(client(fake))


def test_faults_are_served_in_order_then_answers_resume(fake: FakeLLM) -> None:
    fake.fail_next("status", status=503)
    fake.fail_next("cut")
    summariser = client(fake)
    assert "HTTP 503" in failure(summariser)
    assert "cut off" in failure(summariser)
    assert summariser.abstract("Title", TEXT, 300) == "Social media gives everyone a voice."
