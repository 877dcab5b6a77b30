"""Read the objects a prompt asks for by name, with their counts ("two mugs", "a pair of chairs").

Why: the template planner must honour what the user wrote, not just the room type; "a kitchen
with a fridge, a table and two mugs" has to contain one fridge, one table and two mugs whatever
the seed. The parser is deliberately small and total: any text gives a (possibly empty) list,
never an exception, so it can run on untrusted prompts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bpflow.domain.textgen.room_catalog import object_vocabulary

MAX_PER_ITEM = 12
MAX_REQUIRED = 48
MAX_PHRASE_WORDS = 3
LOOKBACK_TOKENS = 3

NUMBER_WORDS: dict[str, int] = {
    "a": 1,
    "an": 1,
    "one": 1,
    "single": 1,
    "another": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "pair": 2,
    "couple": 2,
    "both": 2,
    "few": 3,
    "several": 3,
    "some": 2,
    "many": 4,
    "multiple": 3,
    "dozen": 12,
    "no": 0,
    "zero": 0,
    "without": 0,
}
#: Words that are also common verbs: only their plural names the object ("cans", not "can").
PLURAL_ONLY = frozenset({"can"})
BOUNDARIES = frozenset({",", ";", ".", ":", "and", "or", "with", "plus", "on", "in", "near", "next", "by", "beside"})
_TOKEN = re.compile(r"[a-z0-9]+|[,;.:]")


@dataclass(frozen=True)
class Mention:
    """An object the prompt names. ``count`` 0 means the prompt excludes it ("no chairs")."""

    name: str
    category: str
    count: int
    phrase: str


@lru_cache(maxsize=1)
def _vocabulary() -> dict[str, tuple[str, str]]:
    return object_vocabulary()


def singular_forms(word: str) -> list[str]:
    """Candidate singulars of an English plural, most specific first (shelves → shelf)."""
    out = [word]
    if len(word) > 3 and word.endswith("ies"):
        out.append(word[:-3] + "y")
    if len(word) > 3 and word.endswith("ves"):
        out += [word[:-3] + "f", word[:-3] + "fe"]
    if len(word) > 3 and word.endswith("es"):
        out.append(word[:-2])
    if len(word) > 2 and word.endswith("s") and not word.endswith("ss"):
        out.append(word[:-1])
    return out


def _lookup(words: list[str]) -> tuple[str, str, bool] | None:
    """(name, category, plural) for a phrase, trying singular forms of its last word."""
    vocab = _vocabulary()
    head = "_".join(words[:-1])
    for i, last in enumerate(singular_forms(words[-1])):
        key = f"{head}_{last}" if head else last
        if key in vocab and not (i == 0 and key in PLURAL_ONLY):
            name, category = vocab[key]
            return name, category, i > 0
    return None


def _starts_phrase(tokens: list[str], i: int) -> bool:
    for n in range(min(MAX_PHRASE_WORDS, len(tokens) - i), 0, -1):
        words = tokens[i : i + n]
        if all(w.isalnum() for w in words) and _lookup(words) is not None:
            return True
    return False


def _quantity(tokens: list[str], start: int, floor: int) -> int | None:
    """The count written just before position ``start`` (not looking past ``floor``)."""
    for j in range(start - 1, max(floor, start - LOOKBACK_TOKENS) - 1, -1):
        tok = tokens[j]
        if tok in BOUNDARIES and tok not in ("no", "without"):
            return None
        if tok.isdigit():
            return min(int(tok), MAX_PER_ITEM) if len(tok) <= 3 else MAX_PER_ITEM
        if tok in NUMBER_WORDS:
            return NUMBER_WORDS[tok]
    return None


def parse_mentions(prompt: str) -> list[Mention]:
    """Objects named in ``prompt`` in order of first mention, counts summed and capped
    (``MAX_PER_ITEM`` each, ``MAX_REQUIRED`` in all); exclusions come back with count 0."""
    tokens = _TOKEN.findall(prompt.lower()) if isinstance(prompt, str) else []
    found: dict[str, Mention] = {}
    i = 0
    consumed_to = 0
    while i < len(tokens):
        if not tokens[i].isalnum():
            i += 1
            continue
        hit = None
        for n in range(min(MAX_PHRASE_WORDS, len(tokens) - i), 0, -1):
            words = tokens[i : i + n]
            if all(w.isalnum() for w in words):
                hit = _lookup(words)
                if hit is not None:
                    break
        if hit is None or (n == 1 and _starts_phrase(tokens, i + 1)):
            i += 1  # no object here, or a noun used as an adjective ("a glass table")
            continue
        name, category, plural = hit
        qty = _quantity(tokens, i, consumed_to)
        count = qty if qty is not None else (2 if plural else 1)
        phrase = " ".join(tokens[i : i + n])
        prev = found.get(name)
        if prev is None:
            found[name] = Mention(name, category, count, phrase)
        elif count == 0 or prev.count == 0:
            found[name] = Mention(name, category, 0, prev.phrase)
        else:
            found[name] = Mention(name, category, min(MAX_PER_ITEM, prev.count + count), prev.phrase)
        i += n
        consumed_to = i
    out: list[Mention] = []
    budget = MAX_REQUIRED
    for mention in found.values():
        count = min(mention.count, budget)
        if mention.count > 0 and count == 0:
            break
        out.append(Mention(mention.name, mention.category, count, mention.phrase))
        budget -= count
    return out
