"""A question as typed -> what citeqa searches for: plain typography, English or not, something to search for,
and typos corrected against the documents' own words."""

from __future__ import annotations

import pytest

from citeqa.chat.intake import plain, take
from citeqa.chat.language import foreign_language
from citeqa.chat.spelling import Speller, edit_distance, english_lexicon
from citeqa.ingest.words import terms, tokenize

DOCUMENT = (
    "Pakistan has eight national incubation centres. The Startup Fund invests alongside venture capital. "
    "Khawaja invited Azerbaijani startups to join joint incubation programs in January–September 2024."
)
SPELLER = Speller(terms(tokenize(DOCUMENT)))


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("¿Cuántos ciudadanos paquistaníes visitaron Azerbaiyán en 2024?", "Spanish"),
        ("Combien de visiteurs pakistanais en 2024 ?", "French"),
        ("Wie viele Flüge gibt es zwischen Baku und Lahore?", "German"),
        ("پاکستان نے کتنے جے ایف 17 طیارے دینے کا وعدہ کیا؟", "Arabic script (Urdu, Arabic, Persian)"),
        ("Что такое ITU?", "Cyrillic script"),
        ("How many JF-17 jets did Pakistan commit to deliver?", None),
        ("Who is Tamilla Mammadova?", None),  # names belong to no language
        ("What did Khawaja say about la Liga?", None),  # one foreign word in an English question
        ("Baku?", None),  # too little to tell: read as English
    ],
)
def test_the_language_of_a_question(question: str, language: str | None) -> None:
    assert foreign_language(question) == language


def test_a_question_in_another_language_gets_a_notice_saying_so() -> None:
    intake = take("¿Cuántos centros de incubación tiene Pakistán?", SPELLER)
    assert intake.notice is not None and intake.notice.code == "not_english"
    assert "English" in intake.notice.message and "Spanish" in intake.notice.message


@pytest.mark.parametrize("question", ["What is the?", "Who?", "?!", "and then what?"])
def test_a_question_with_nothing_to_search_for_gets_a_notice(question: str) -> None:
    intake = take(question, SPELLER)
    assert intake.notice is not None and intake.notice.code == "nothing_to_search"


def test_typos_are_corrected_against_the_documents_words() -> None:
    intake = take("how mny nationl incubaton centres does pakistn hav?", SPELLER)
    assert intake.notice is None and intake.corrected
    assert intake.searched == "how many national incubation centres does pakistan have?"


@pytest.mark.parametrize(
    "question",
    [
        "How many national incubation centres does Pakistan have?",  # every word known
        "What is the capital of Azerbaijan?",  # "capital" is English although no document says it
        "How many weekly flights leave Karachi?",  # "Karachi" is near no term of the documents
        "How many centres opened in 2023?",  # numbers are never corrected
    ],
)
def test_known_words_and_far_names_are_left_alone(question: str) -> None:
    intake = take(question, SPELLER)
    assert not intake.corrected and intake.searched == question


def test_correction_keeps_the_case_and_everything_around_the_word() -> None:
    correction = SPELLER.correct("Did Khawja invite “startups”?")
    assert correction.text == "Did Khawaja invite “startups”?"
    assert correction.replaced == (("Khawja", "Khawaja"),)


def test_dashes_and_quotes_are_plain_in_questions_and_documents() -> None:
    assert plain("January–September") == plain("January-September") == plain("January - September")
    assert plain("Pakistan’s “Startup Fund”") == 'Pakistan\'s "Startup Fund"'
    # the documents' side: the word analyzer reads an en dash between words as a hyphen
    assert terms(tokenize("January–September")) == terms(tokenize("January-September")) == ["january-september"]
    assert "january-september" in terms(tokenize(DOCUMENT))


def test_edit_distance_counts_a_swap_once_and_stops_past_its_limit() -> None:
    assert edit_distance("incubaton", "incubation", 2) == 1
    assert edit_distance("fnud", "fund", 1) == 1  # a transposition
    assert edit_distance("pakistan", "azerbaijan", 2) == 3  # past the limit: limit + 1


def test_the_english_lexicon_ships_with_the_model() -> None:
    lexicon = english_lexicon()
    assert len(lexicon) > 15_000 and {"capital", "minister", "flight"} <= lexicon
