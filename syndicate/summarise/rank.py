"""Sentence ranking for the extractive summary: centrality, position and form.

Centrality is LexRank (Erkan & Radev 2004): PageRank over a graph whose nodes are sentences and
whose edges are the TF-IDF cosine similarity of their words, so a sentence scores high when it
says what many other sentences say. Title words count for less in that graph: every sentence
touches the topic, so sharing the title's words is no sign of saying something about it.

Priors then turn "central" into "a good opening for a post" (Edmundson 1969 combined the same
kinds of evidence): position (posts front-load their point, news more than blogs; a paragraph's
first sentence is its topic sentence), length (fragments and run-ons make poor hooks), form
(headings, list items and code are not prose; "So, …" or "This …" lean on the sentence before),
and cue phrases that mark throat-clearing: talk about the writer, the occasion or the text
itself ("As I sit here…", "In this post…", "Today's session is titled…") or a view set up to be
knocked down ("We have all heard…", "Most believe…").

Everything is plain Python arithmetic in a fixed order: the same input always ranks the same.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from operator import mul, sub

import regex

# Only the opening part of a long post is ranked: the graph costs n² and a post's point is
# rarely past its first sixty sentences. Later sentences follow in document order.
MAX_RANKED = 60
_DAMPING = 0.85
_ITERATIONS = 40
_TOLERANCE = 1e-6
# Edges weaker than this are noise (one shared common word) and only blur the ranking.
_MIN_SIMILARITY = 0.05
_GIVEN_WEIGHT = 0.5  # of a title term in the similarity graph

# Words for counting and matching. The stdlib `re` is several times faster than `regex` here,
# which matters: this runs over every sentence. CJK scripts have no spaces: each character
# (kana, hanzi/kanji, hangul syllable) counts as a word.
_CJK_CHARACTER = "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"
_WORD = re.compile(
    _CJK_CHARACTER + r"|\d+(?:[.,]\d+)*"  # "2.0", "1,000": one term
    r"|[^\W\d_]\w*(?:['’][^\W\d_]+)*"
)
_CJK = re.compile(_CJK_CHARACTER)
_LETTERS = regex.compile(r"\p{L}+")
# Function words carry no topic. English only: in other languages IDF does the same job, since
# function words occur in most sentences of a post.
_STOPWORDS = frozenset(
    {
        "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any",
        "are", "as", "at", "be", "because", "been", "before", "being", "below", "between",
        "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during",
        "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her",
        "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into",
        "is", "it", "its", "itself", "just", "me", "more", "most", "my", "myself", "no", "nor",
        "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours",
        "ourselves", "out", "over", "own", "same", "she", "should", "so", "some", "such",
        "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there",
        "these", "they", "this", "those", "through", "to", "too", "under", "until", "up",
        "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom",
        "why", "will", "with", "would", "you", "your", "yours", "yourself", "yourselves",
        "also", "get", "got", "one", "two", "may", "might", "must", "much", "many", "really",
        "well", "even", "still", "yet", "us", "let", "like"
    }
)  # fmt: skip
# Openers that point back at the previous sentence: alone in a post they dangle.
_DANGLING = regex.compile(
    r"""^[\W_]*(?:(?:so|this|that|these|those|it|its|he|she|they|them|his|her|their|but|and|or
        |also|further|furthermore|moreover|however|then|thus|hence|therefore|oh|well|besides
        |anyway|plus|additionally|again|still|yet|nor|ultimately|finally|instead|similarly
        |likewise|meanwhile|otherwise)\b
        | (?:for\ (?:example|instance)|in\ (?:addition|fact|other\ words|particular|turn|short)
        |on\ the\ other\ hand|as\ a\ result|that\ said|of\ course|after\ all|even\ so
        |by\ contrast|in\ contrast|because\ of\ (?:this|that))\b)""",
    regex.VERBOSE | regex.IGNORECASE,
)
_CODE_SYMBOLS = re.compile(r"[{}()\[\];=<>#&|*\\/_`$@~^]")
_ASCII_LETTERS = re.compile("[A-Za-z]+")
_TERMINAL = ".!?…。！？\"'”’)"
# Cue phrases (Edmundson's "stigma" words), English only; other languages rank on centrality,
# position and form. Throat-clearing talks about the writer, the occasion or the text itself
# instead of the subject: "As I sit here…", "In this post I'll…", "Today's session is titled…".
_WRITER = regex.compile(r"\b(?:I|I['’](?:m|ve|d|ll)|me|my|myself)\b")
_OCCASION = regex.compile(
    r"""\b(?:today|tonight|right\ now|this\ (?:week|morning|afternoon|evening|weekend)
        | (?:sit|sitting|sat|stand|standing)\ here | here\ at
        | (?:in\ )?(?:this|the|today['’]s)\ (?:post|article|blog|session|talk|training|stories
            |episode|video|piece|newsletter|keynote|workshop|write-?up)\b
        | (?:titled|entitled) | (?:been\ meaning|going|want|wanted)\ to\ (?:write|talk|share)
    )""",
    regex.VERBOSE | regex.IGNORECASE,
)
_SET_UP = regex.compile(
    r"""\b(?:(?:we|you)\ (?:have\ )?all\ (?:heard|know|seen)
        | (?:most|many|some)\ (?:people\ )?(?:believe|think|say)
        | not\ sure\ (?:why|if|whether|how) | I\ (?:wonder|guess|suppose)
    )\b""",
    regex.VERBOSE | regex.IGNORECASE,
)


@dataclass(frozen=True)
class Sentence:
    """A sentence with where it stands: paragraph number and place within the paragraph."""

    text: str
    paragraph: int
    position: int  # 0 for the first sentence of its paragraph
    prose: bool = True  # False in headings, list items, code and tables


def rank(sentences: Sequence[Sentence], title: str = "") -> list[float]:
    """One score per sentence (higher is a better opening), in the order given."""
    if not sentences:
        return []
    words = [_WORD.findall(sentence.text) for sentence in sentences]
    terms = [_terms(sentence_words) for sentence_words in words]
    title_terms = set(_terms(_WORD.findall(title)))
    centrality = _lexrank(_tf_idf(terms, title_terms))
    return [
        centrality[i] * _prior(sentence, i) * _form(sentence, words[i], terms[i], title_terms)
        for i, sentence in enumerate(sentences)
    ]


def order_for_post(sentences: Sequence[Sentence], scores: Sequence[float]) -> list[int]:
    """Indexes in the order a post should take them: best sentence first, read on from there.

    Each step takes the best sentence not yet placed, then the rest of its paragraph, so that a
    prefix of any length reads as connected prose rather than a list of quotes."""
    ranked = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    placed: set[int] = set()
    order: list[int] = []
    for head in ranked:
        index = head
        paragraph = sentences[head].paragraph
        while (
            index < len(sentences)
            and index not in placed
            and sentences[index].paragraph == paragraph
        ):
            placed.add(index)
            order.append(index)
            index += 1
    return order


def _terms(words: Sequence[str]) -> list[str]:
    return [term for term in map(_term, words) if term is not None]


# Posts repeat their words: each is folded, checked and stemmed once.
@lru_cache(maxsize=65_536)
def _term(word: str) -> str | None:
    """The word's term: folded and stemmed; None for a stopword or a lone non-CJK character."""
    folded = word.casefold()
    if folded in _STOPWORDS or not _is_term(folded):
        return None
    return _stem(folded)


def _is_term(word: str) -> bool:
    return len(word) > 1 or _CJK.match(word) is not None


def _stem(word: str) -> str:
    """A light English suffix strip, so "customer" and "customers" count as one term."""
    for suffix, keep in (("'s", 0), ("’s", 0), ("ies", 3), ("ing", 5), ("ed", 4), ("s", 3)):
        if word.endswith(suffix) and len(word) - len(suffix) >= keep:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def _tf_idf(terms: Sequence[Sequence[str]], given: set[str]) -> list[dict[str, float]]:
    """Unit-length TF-IDF vectors, one per sentence, with IDF taken over the post's sentences.

    Title terms count for less: every sentence of a post touches its topic, so sharing the
    title's words makes a sentence central without making it say anything the title does not."""
    distinct = [sorted(set(sentence)) for sentence in terms]
    document_frequency = Counter(chain.from_iterable(distinct))
    count = len(terms)
    idf = {
        term: (math.log((1 + count) / (1 + df)) + 1) * (_GIVEN_WEIGHT if term in given else 1.0)
        for term, df in document_frequency.items()
    }
    vectors: list[dict[str, float]] = []
    for sentence, keys in zip(terms, distinct, strict=True):
        weights = _weights(sentence, keys, idf)
        norm = math.sqrt(sum(map(mul, weights, weights)))
        pairs = zip(keys, weights, strict=True)
        vectors.append({term: weight / norm for term, weight in pairs} if norm else {})
    return vectors


def _weights(sentence: Sequence[str], keys: list[str], idf: dict[str, float]) -> list[float]:
    """(1 + log tf) * idf per distinct term, in `keys` order. 1 + log(1) is 1.0: a term said
    once weighs its IDF as it is, and in most sentences every term is said once."""
    if len(keys) == len(sentence):
        return list(map(idf.__getitem__, keys))
    tfs = Counter(sentence)
    return [idf[t] if tfs[t] == 1 else (1 + math.log(tfs[t])) * idf[t] for t in keys]


def _lexrank(vectors: Sequence[dict[str, float]]) -> list[float]:
    """PageRank over the cosine-similarity graph, scaled so the mean score is 1."""
    count = len(vectors)
    # Each sentence hands its score on in proportion to its similarities.
    edges = _similarity_edges(vectors)
    shares = [(source, _proportions(targets)) for source, targets in enumerate(edges) if targets]
    scores = [1.0 / count] * count
    teleport = (1 - _DAMPING) / count
    # The loop runs tens of times over every edge, so it is kept lean; it makes the same
    # additions in the same order as ever, so the scores are the same to the last bit.
    for _ in range(_ITERATIONS):
        incoming = [0.0] * count
        for source, neighbours in shares:
            score = scores[source]
            for target, share in neighbours:
                incoming[target] += score * share
        updated = [teleport + _DAMPING * value for value in incoming]
        # Sentences sharing nothing with the rest leak their mass; spread it evenly again.
        leaked = (1 - sum(updated)) / count
        updated = [value + leaked for value in updated]
        converged = sum(map(abs, map(sub, updated, scores))) < _TOLERANCE
        scores = updated
        if converged:
            break
    return [score * count for score in scores]


def _proportions(neighbours: list[tuple[int, float]]) -> list[tuple[int, float]]:
    total = sum([weight for _, weight in neighbours])
    return [(target, weight / total) for target, weight in neighbours]


def _similarity_edges(vectors: Sequence[dict[str, float]]) -> list[list[tuple[int, float]]]:
    """Cosine similarities above the noise floor, as adjacency lists (an inverted index keeps
    the products to the pairs that share a term; a row of sums per sentence holds them)."""
    postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for index, vector in enumerate(vectors):
        for term, weight in vector.items():
            postings[term].append((index, weight))
    # similarity[i][j] for i < j, summed term by term in the order of the postings.
    similarity = [[0.0] * len(vectors) for _ in vectors]
    for posting in postings.values():
        for a, (i, left) in enumerate(posting[:-1]):  # most terms are in one sentence only
            row = similarity[i]
            for j, right in posting[a + 1 :]:
                row[j] += left * right
    edges: list[list[tuple[int, float]]] = [[] for _ in vectors]
    for i, row in enumerate(similarity):
        for j, weight in enumerate(row[i + 1 :], i + 1):
            if weight >= _MIN_SIMILARITY:  # pairs sharing no term stay at 0.0
                edges[i].append((j, weight))
                edges[j].append((i, weight))
    return edges


def _prior(sentence: Sentence, index: int) -> float:
    """Where the sentence stands: posts front-load their point (news most, blogs less), and a
    paragraph's first sentence is usually its topic sentence."""
    document = 1.0 + 0.6 / (1.0 + index / 3.0)
    paragraph = 1.25 if sentence.position == 0 else 1.0
    return document * paragraph


def _form(
    sentence: Sentence, words: Sequence[str], terms: Sequence[str], title_terms: set[str]
) -> float:
    """How well the sentence reads on its own as the opening of a post."""
    text = sentence.text
    factor = _length_factor(_word_count(words, text)) * _cues(text)
    if not sentence.prose:
        factor *= 0.5
    if _DANGLING.match(text):
        factor *= 0.6
    if _is_code_like(text):
        factor *= 0.3
    elif text[-1] not in _TERMINAL:
        factor *= 0.6  # a heading or a fragment
    if terms and title_terms and sum(map(title_terms.__contains__, terms)) >= 0.7 * len(terms):
        factor *= 0.5  # repeats the title, which the post shows anyway
    return factor


def _word_count(words: Sequence[str], text: str) -> int:
    if _CJK.search(text) is None:
        return len(words)  # most text: no word to look at
    cjk = sum(1 for word in words if _CJK.match(word))
    return len(words) - cjk + cjk // 2  # two CJK characters read like a word


def _is_code_like(text: str) -> bool:
    """Code, numbers or a lead-in to a list or an example: no hook for a post."""
    visible = len(text) - text.count(" ")
    if text.endswith(":") or len(_CODE_SYMBOLS.findall(text)) > 0.06 * visible:
        return True
    return _letters_below(text, 0.6 * visible)


def _letters_below(text: str, threshold: float) -> bool:
    """Whether `text` has fewer letters than `threshold`. ASCII letters are counted first, by
    the faster `re`: in most prose they alone reach it."""
    if sum(map(len, _ASCII_LETTERS.findall(text))) >= threshold:
        return False
    return sum(map(len, _LETTERS.findall(text))) < threshold


def _cues(text: str) -> float:
    factor = 0.8 if _WRITER.search(text) else 1.0
    # Each reference to the occasion or the text makes the sentence more about them.
    factor *= 0.6 ** min(2, len(_OCCASION.findall(text)))
    if _SET_UP.search(text):
        factor *= 0.5  # a view set up to be knocked down: not what the writer says
    return factor


def _length_factor(words: int) -> float:
    if words < 8:
        return 0.3 + 0.7 * words / 8
    if words > 40:
        return 40 / words
    return 1.0
