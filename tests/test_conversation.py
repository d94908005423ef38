"""Follow-ups resolved from the previous turn, by general rules of English."""

from __future__ import annotations

import pytest

from citeqa.chat.conversation import Turn, resolve

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
