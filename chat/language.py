"""Is a question English? A cheap, offline guess from its script and its function words.

citeqa's reader, question analysis and word lists are English; a question in another language retrieves
something and then abstains, which would tell the person "the documents don't say" when the truth is "citeqa
did not understand". Two signals, no model:

- the script: letters mostly outside the Latin alphabet (Arabic script for Urdu, Cyrillic, Devanagari, CJK, ...);
- function words: the small closed-class words every sentence of a language uses ("de", "la", "cuántos",
  "wie", "combien"), counted against English ones. Names and numbers belong to no language and count for none.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

from citeqa.ingest.words import STOPWORDS

# The most frequent function and question words of languages whose questions an English-only reader would
# misread; English words that are also theirs ("a", "in", "me", "no", "die") are removed below.
_FUNCTION_WORDS = {
    "Spanish": "de la que el en y los se del las por un para con una su al lo como más pero sus le ya o este sí "
    "porque esta entre cuando muy sin sobre también hasta hay donde quien desde todo nos durante todos uno les ni "
    "contra otros ese eso ante ellos es son fue fueron está están qué cuántos cuántas cuánto cuándo dónde cómo "
    "cuál quién quiénes por qué",
    "French": "le la les de des du un une et est en que qui dans pour pas sur au aux avec ce cette il elle ils "
    "sont ont été par plus ou mais où quand comment combien pourquoi quel quelle quels quelles qu est-ce",
    "German": "der die das und ist nicht ein eine zu den mit von sich des auf für im dem wie wer was wann wo "
    "warum wieviele wie viele viel sind hat haben wurde wurden welche welcher welches",
    "Italian": "il lo la gli le di che e è un una per non con del della dei delle sono quando dove perché "
    "quanti quante quanto come chi quale cosa nel nella",
    "Portuguese": "o a os as de do da dos das que e é um uma para com não por em no na quando onde quantos "
    "quantas quanto como quem porque são foi qual quais",
    "Dutch": "de het een en van is dat die niet op te met voor zijn hoeveel wanneer waar waarom wie welke wat",
    "Turkish": "bir ve bu da de ne için ile mi mı mu mü nedir kaç nerede neden nasıl kim hangi",
    "Indonesian": "yang dan di ini itu dengan untuk dari tidak ada apa berapa kapan mana mengapa bagaimana siapa",
}
_ENGLISH = STOPWORDS | frozenset("many much".split())
_FOREIGN = {language: frozenset(words.split()) - _ENGLISH - {"o", "e"} for language, words in _FUNCTION_WORDS.items()}
_SPANISH_MARKS = "¿¡"
_MIN_LETTERS = 3


def foreign_language(text: str) -> str | None:
    """The language `text` is most likely in when that is not English ("Spanish", "a language in Arabic
    script"); None for English, and for text too short or too plain to tell (it is then read as English)."""
    script = _script(text)
    if script is not None:
        return script
    words = [w for w in _words(text) if w.isalpha()]
    english = sum(w in _ENGLISH for w in words)
    hits = Counter({language: sum(w in vocab for w in words) for language, vocab in _FOREIGN.items()})
    language, count = hits.most_common(1)[0]
    if any(mark in text for mark in _SPANISH_MARKS) and english == 0:
        return "Spanish"
    if count >= 2 and count > english:
        return language
    return None


def _words(text: str) -> list[str]:
    out: list[str] = []
    word = ""
    for ch in text.lower():
        if ch.isalpha() or (ch in "-'’" and word):
            word += ch
        else:
            if word:
                out.append(word.strip("-'’"))
            word = ""
    if word:
        out.append(word.strip("-'’"))
    return out


def _script(text: str) -> str | None:
    """A name for the main script of `text` when most of its letters are not Latin."""
    scripts: Counter[str] = Counter()
    for ch in text:
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            scripts[name.split(" ")[0] if name else "UNKNOWN"] += 1
    total = sum(scripts.values())
    if total < _MIN_LETTERS:
        return None
    main, count = scripts.most_common(1)[0]
    if main == "LATIN" or count * 2 <= total:
        return None
    names = {"ARABIC": "Arabic script (Urdu, Arabic, Persian)", "CJK": "Chinese", "HANGUL": "Korean"}
    return names.get(main, f"{main.title()} script")
