"""Follow-ups resolved from the previous turn, by general rules of English."""

from __future__ import annotations

import pytest

from citeqa.chat.conversation import FollowUp, Turn, follow_up, resolve

VISITORS = Turn("How many Pakistani citizens visited Azerbaijan in 2024?", "80,924")
MEMORANDUM = Turn("When did APP and AZERTAC sign their memorandum of cooperation?", "July 2024")


@pytest.mark.parametrize(
    ("question", "previous", "expected"),
    [
        (
            "And in the first seven months of 2025?",
            VISITORS,
            "How many Pakistani citizens visited Azerbaijan in the first seven months of 2025?",
        ),
        ("And 2023?", VISITORS, "How many Pakistani citizens visited Azerbaijan in 2023?"),
        ("What about during 2023?", VISITORS, "How many Pakistani citizens visited Azerbaijan during 2023?"),
        ("Who signed it?", MEMORANDUM, "Who signed the memorandum of cooperation?"),
        ("What is their budget?", MEMORANDUM, "What is APP and AZERTAC's budget?"),
        (
            "What about Karachi?",
            Turn("How many flights leave from Lahore?", "3"),
            "How many flights leave from Karachi?",
        ),
        (
            "When was it launched?",
            Turn("What digital concept is Pakistan promoting?", "Digital Pakistan"),
            "When was Digital Pakistan launched?",
        ),
        (
            "What is its budget?",
            Turn("On what model does the Pakistan Startup Fund operate?", "a fund-of-funds model"),
            "What is the Pakistan Startup Fund's budget?",
        ),
        ("What does he do?", Turn("Who spoke to Trend?", "Shaza Fatima Khawaja"), "What does Shaza Fatima Khawaja do?"),
        (
            "Where do they fly to?",
            Turn("From which cities are there direct flights?", "Lahore and Islamabad"),
            "Where do Lahore and Islamabad fly to?",
        ),
        ("How many people live there?", Turn("Where did Khawaja speak?", "Baku"), "How many people live in Baku?"),
        (
            "And in 2019?",
            Turn("What was the trade turnover between the two countries in 2024?", None),
            "What was the trade turnover between the two countries in 2019?",
        ),
        (
            "And for students?",
            Turn("Which scholarships are offered?", None),
            "Which scholarships are offered for students?",
        ),
    ],
)
def test_follow_ups_are_rewritten(question: str, previous: Turn, expected: str) -> None:
    assert resolve(question, previous) == expected


@pytest.mark.parametrize(
    "question",
    [
        "How many Pakistani citizens visited Azerbaijan in 2024?",
        "Is there a direct flight from Karachi to Baku?",
        "What is that agreement about?",
        "Which universities signed memorandums with Pakistani universities in 2023?",
    ],
)
def test_questions_that_stand_alone_are_unchanged(question: str) -> None:
    assert resolve(question, MEMORANDUM) in (question, question.replace("that agreement", "that agreement"))


def test_without_a_previous_turn_nothing_changes() -> None:
    assert resolve("  Who signed it? ", None) == "Who signed it?"
    assert resolve("", VISITORS) == ""
    assert resolve("?", VISITORS) == "?"


def test_a_date_answer_is_not_taken_for_a_thing() -> None:
    # "it" after a When-question means what the question was about, never the date that answered it
    assert "July" not in resolve("Who signed it?", MEMORANDUM)


JETS = Turn("How many JF-17 jets did Pakistan commit to deliver?", "40")


@pytest.mark.parametrize(
    ("question", "history", "expected"),
    [
        ("By when?", [JETS], "By when did Pakistan commit to deliver JF-17 jets?"),
        ("Where?", [JETS], "Where did Pakistan commit to deliver JF-17 jets?"),
        ("And in 2025?", [VISITORS], "How many Pakistani citizens visited Azerbaijan in 2025?"),
        # a request stands on its own: it is not a fragment of the previous question
        ("tell me about cybersecurity", [JETS], "tell me about cybersecurity"),
        ("Please describe the Startup Fund", [JETS], "Please describe the Startup Fund"),
        # an acronym is not a pronoun
        ("Who is the IT minister?", [MEMORANDUM], "Who is the IT minister?"),
        # only the last turn counts, and text in another language is left as it was typed
        ("¿Cuántos jets?", [VISITORS, JETS], "¿Cuántos jets?"),
    ],
)
def test_follow_ups_in_a_conversation(question: str, history: list[Turn], expected: str) -> None:
    resolved = follow_up(question, history)
    assert resolved.notice is None
    assert resolved.question == expected


@pytest.mark.parametrize(
    ("question", "history", "referent"),
    [
        ("Who signed it?", [], "it"),
        ("When did they meet?", [], "they"),
        ("And in 2025?", [], "And in 2025"),
        # a turn that abstained is not built on: "the population of Azerbaijan in 2025" would be a guess
        ("and in 2025?", [Turn("What is the population of Azerbaijan?", None)], "and in 2025"),
        ("Who signed it?", [MEMORANDUM, Turn("What is the population of Azerbaijan?", None)], "it"),
    ],
)
def test_a_question_leaning_on_a_missing_turn_is_asked_back(question: str, history: list[Turn], referent: str) -> None:
    resolved = follow_up(question, history)
    assert resolved.question == question
    assert resolved.notice is not None and resolved.notice.code == "unclear_reference"
    assert f"“{referent}”" in resolved.notice.message
    assert ("not answered" in resolved.notice.message) == bool(history)


@pytest.mark.parametrize(
    "question",
    ["Who signed the memorandum of cooperation?", "Is there a direct flight to Baku?", "Tell me about the Ignite fund"],
)
def test_a_question_that_stands_alone_needs_no_history(question: str) -> None:
    assert follow_up(question, []) == FollowUp(question)
