"""An open question's answer in the sources' own words: the sentences of the best articles
(read whole: `open_sources`) that answer the question best, a few, not repeating one another,
in each article's order, each citing its source — and, when they come from different outlets
or days, saying who reported what and when.

Measured side by side on the everyday development set (docs/EVALUATION.md): the default 1.5B
reader's own two-to-four-sentence summaries covered fewer of the key points, copied sentences
of its prompt's example into answers and took ~20 s of decoding on two cores, where choosing
sentences takes a fraction of a second and every sentence is a source's own. The reader still
decides whether the sources answer the question at all (its first words, retrieval.pipeline).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from datetime import date
from typing import NamedTuple

from retrieval.answer.about import CAPTION, lead
from retrieval.answer.kinds import defined, described
from retrieval.check.subject import about_subject, found, name_runs, topic_words
from retrieval.errors import ArticleNotFoundError
from retrieval.find.evidence import EvidenceSelector, Sentence, is_boilerplate
from retrieval.find.search import Retriever
from retrieval.lang.synonyms import form_stems, only_adverb, only_verb
from retrieval.lang.text import sentences
from retrieval.lang.words import PREPOSITIONS, WORD_TOKEN, content_words, stem, stems
from retrieval.types import Citation, Hit

MAX_SENTENCES = 4
# Prior for a sentence near its article's start (news puts the main points first); 0, 0.2 and
# 0.4 measured on the everyday dev set (docs/EVALUATION.md).
_POSITION = 0.2
_ANAPHORIC = 0.2  # penalty for a sentence opening with a word that points back (_ANAPHOR)
_NARROWED = 0.2  # bonus for naming a part of the subject the question asks about
MAX_ARTICLES = 2  # articles an open answer reads whole: the best two the search found
MIN_WORDS = 6  # content words a sentence needs to state a point ("Here is what we know." does not)
_SAME = 0.6  # share of words two sentences may share before one is a repeat of the other


def _overlap(a: str, b: str) -> float:
    wa, wb = set(content_words(a)), set(content_words(b))
    return len(wa & wb) / max(1, min(len(wa), len(wb)))


def _clean(text: str) -> str:
    text = " ".join(text.split()).strip(" …")
    return text if text[-1:] in ".!?”\"'" else f"{text}."


# A heading the page's text ran into the next sentence ("… boyfriend loophole The senators
# said …"), and a sentence that is only a quotation: neither states a point on its own.
_RUN_IN = re.compile(
    r"[a-z0-9] (?:The|A|An|In|On|At|But|And|It|He|She|They|This|These|Its)\b [a-z]"
)
_QUOTATION = re.compile(r"^[“\"']")
# A quotation mark that opens (at the start, or after a space or bracket) and one that closes.
_OPENS = re.compile(r"“|(?:^|(?<=[\s(\[]))\"")
_CLOSES = re.compile(r"”|(?<![\s(\[])\"")


def _quotation_tail(sentence: str) -> bool:
    """A sentence that closes a quotation it did not open: the rest of words quoted from the
    sentence before it ("And that means the higher interest rate hikes….”"), often without
    its speaker. 2,862 of the RealTime QA articles' 108,877 usable sentences; of 40 read, 39
    were such rests and one a title mistyped with two opening marks
    (`python -m bench.studies.quotation_tails --data ../shared/data`)."""
    text = sentence.strip()
    return len(_CLOSES.findall(text)) > len(_OPENS.findall(text))


# Photo captions and credits, sentences that announce the article's own structure, and the
# newsroom's notes on the story itself ("This story has been updated with additional
# developments", "Correction: An earlier version of this article misstated…": 221 distinct
# paragraphs of 105 RealTime QA articles match, and each of 12 read is such a note), and its
# credits ("CNN's Allie Malloy contributed to this report": 35 distinct sentences of the
# RealTime QA articles, each of 25 read a credit line).
_ANNOUNCES = re.compile(
    r"^Here (?:is|are|'s)\b|^(?:Read|Watch|Listen|Related|More|Correction|Corrected):|"
    r"\bearlier version of this (?:story|article|report)\b|\bcontributed (?:to )?this report\b|"
    r"\bcontributed reporting\b|"
    r"\b(?:story|article|report|headline) has been (?:updated|corrected)\b",
    re.I,
)
# A link to another story run into the text: a capitalised label and a colon ("BUDGET AIRLINE
# BONANZA: What …"), or a headline's colon with no space after it ("… in 40 years:New level").
_LINK = re.compile(r"^[A-Z][A-Z0-9 '’&-]{3,}:|[a-z0-9]:[A-Z]")
# What a "why" question's answer says: a cause.
_CAUSE = re.compile(
    r"\b(?:because|due to|reasons?|driven by|caused|causing|blam\w+|factors?|result of|thanks to|"
    r"led to|leading to|amid|fueled|sparked|since)\b",
    re.IGNORECASE,
)


# A sentence that opens by pointing back to one before it.
_ANAPHOR = re.compile(r"^(?:He|She|His|Her|They|Their|Them|It|Its|This|These|Those|That|Such)\b")
# A question that asks for the newest state of a story.
_LATEST = re.compile(r"\b(?:latest|newest|most\s+recent|last\s+update)\b", re.IGNORECASE)


def _favour_causes(question: str, sents: list[Sentence]) -> None:
    """A "why" question's answer states a cause: such sentences score higher."""
    if re.match(r"\s*why\b", question, re.IGNORECASE):
        for s in sents:
            s.score += 0.3 * bool(_CAUSE.search(s.text))


def _favour_narrowed(question: str, hits: list[Hit], sents: list[Sentence]) -> None:
    """A question that names part of its article's subject ("the heat wave in Spain and
    Portugal", in an article on Europe's) is answered by the sentences naming that part: they
    score higher. A name in the title is the whole article's subject, which a sentence need
    not repeat ("Petro" in a profile of Petro)."""
    runs = name_runs(question)
    titles = [stems(content_words(h.title)) for h in hits]
    narrowing = [[n for r in runs if not any(found(n, t) for n in r) for n in r] for t in titles]
    for s in sents:
        have = stems(content_words(s.text))
        if any(found(n, have) for n in narrowing[s.hit]):
            s.score += _NARROWED


def _naming(question: str, pool: list[Sentence]) -> list[Sentence]:
    """A definition question's sentences that name what it asks about (its last word: a
    surname, the head of "the boyfriend loophole"); none for any other question."""
    subject = defined(question)
    if not subject:
        return []
    head = stem(WORD_TOKEN.findall(subject)[-1].lower())
    return [s for s in pool if found(head, stems(content_words(s.text)))]


def usable(sentence: str) -> bool:
    return (
        len(content_words(sentence)) >= MIN_WORDS
        and "…" not in sentence[1:-1]
        and not _RUN_IN.search(sentence)
        and not _QUOTATION.match(sentence.strip())
        and not _quotation_tail(sentence)
        and not sentence.rstrip(" …").endswith("?")
        and not CAPTION.search(sentence)
        and not _ANNOUNCES.search(sentence.strip())
        and not _LINK.search(sentence.strip())
    )


def compose(chosen: list[Sentence], citations: list[Citation], attribute: bool = True) -> str:
    """The chosen sentences as one answer, each citing its source; when they come from more
    than one outlet or day (and `attribute`), each source's first sentence says who reported
    it and when."""
    hits = [citations[s.hit].hit for s in chosen]
    attributed = attribute and len({(h.source, h.published) for h in hits}) > 1
    parts: list[str] = []
    introduced: set[int] = set()
    for s, h in zip(chosen, hits, strict=True):
        text = _clean(s.text)
        if attributed and s.hit not in introduced and (h.source or h.published):
            introduced.add(s.hit)
            who = h.source or "a source"
            when = (
                f" on {h.published:%B} {h.published.day}, {h.published.year}" if h.published else ""
            )
            text = f"{who} reported{when}: {text}"
        cite = f" [{citations[s.hit].id}]"
        m = re.search(r"[.!?][”\"']?$", text)
        end = m.start() if m else len(text)
        parts.append(f"{text[:end]}{cite}{text[end:]}")
    return " ".join(parts)


# How a paragraph of prose ends. Headings, links to other stories ("Experts say the term
# 'drought' may be insufficient…"), video teasers, embedded posts and photo captions with
# their credit ("… in Abra province on July 27. AP") end otherwise: in 40 RealTime QA
# articles outside the everyday set, 68 of 1,100 paragraphs do, and 38 of 40 of them read
# were such; two were quotations whose attribution lost its full stop
# (`python -m bench.studies.prose_paragraphs`, docs/EVALUATION.md).
_PROSE_END = re.compile(r"[.!?…:][\"'”’)\]\s]*$")


# A photo's caption ends with the day it was taken ("People sit outside a tent after their house
# was damaged in the earthquake on June 22."), and a gallery's page repeats each caption: the
# 60 paragraphs that a RealTime QA article (of 2,030) repeats and that end so are all captions.
# A repeated paragraph that does not end so may be news (9 of 45 single sentences read).
_DATED_END = re.compile(
    r"\bon\s+(?:\w+day,?\s+)?(?:Jan(?:uary)?|Feb(?:ruary)?|March|April|May|June|July|"
    r"Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?\s+\d{1,2}"
    r"(?:,\s+\d{4})?\.$"
)


# A newsletter's plug, and a short paragraph holding one pitches to the reader in its other
# sentences too ("Sign up for CNN's Wonder Theory science newsletter. Explore the universe with
# news on fascinating discoveries…"). In the RealTime QA articles, 183 paragraphs of at most
# three sentences hold a plug and more: of their other sentences, the 72 that speak to the
# reader ("you", or an imperative) are pitches, credit lines and newsletter copy but for ~16
# of a gift guide's or how-to-watch note's own words to its reader and one news quote ("…
# protect your children"); the 160 kept state news, credits and teasers
# (`python -m bench.studies.plugs --data ../shared/data`).
_PLUG = re.compile(r"\bsign\s+up\b|\bnewsletters?\b|\bsubscri(?:be|ber|ption)s?\b", re.IGNORECASE)
_PLUG_SENTENCES = 3  # a plug's paragraph is short; a whole page run together is not one
_PITCH = re.compile(r"\b(?:you|your)\b", re.IGNORECASE)


def _pitches(sentence: str) -> bool:
    """A sentence that speaks to the reader: "you", or an imperative ("Explore …")."""
    first = sentence.split(maxsplit=1)[0].strip("“\"'") if sentence.strip() else ""
    return bool(_PITCH.search(sentence)) or (first.isalpha() and only_verb(first))


def _paragraph_sentences(body: str) -> list[str]:
    """An article's sentences, paragraph by paragraph: a heading (a line that states no
    point) is left out rather than run into the sentence after it, and so is a paragraph
    that does not end as prose does (a caption and its credit, a link, a teaser) or is a
    repeated caption (`_DATED_END`)."""
    paras = [" ".join(p.split()) for p in re.split(r"\n\s*\n|\n(?=[A-Z‘“\"'])", body)]
    seen = Counter(paras)
    out: list[str] = []
    for text in paras:
        if seen[text] > 1 and _DATED_END.search(text):
            continue
        if len(content_words(text)) >= MIN_WORDS and _PROSE_END.search(text):
            said = sentences(text)
            plug = len(said) <= _PLUG_SENTENCES and any(_PLUG.search(t) for t in said)
            out += [
                t
                for t in said
                if usable(t) and not is_boilerplate(t) and not (plug and _pitches(t))
            ]
    return out


class OpenSources(NamedTuple):
    """An open question's sources, the sentences its answer is made of (`hit` is the index of
    the sentence's source in `hits`), and the words of what the question takes as given that
    none of the articles read says (`unstated`)."""

    hits: list[Hit]
    sentences: list[Sentence]
    unstated: tuple[str, ...] = ()


# A "why" question takes its clause as given ("Why was the launch delayed?" — it was delayed).
_WHY = re.compile(r"\s*why\b", re.IGNORECASE)
# A verb that says an event began or took place takes no more as given than the event its
# subject names: "Why did the protests break out?" asks why there were protests, which an
# article says as "demonstrations over the crisis", never as "broke out".
_OCCURRED = re.compile(
    r"\b(?:begin|begins|began|begun|beginning|start|starts|started|starting|happen\w*|"
    r"occur\w*|erupt\w*|(?:break|breaks|broke|breaking)\s+out|flare[sd]?\s+up|flaring\s+up|"
    r"(?:take|takes|took|taken|taking)\s+place)\b",
    re.IGNORECASE,
)


def unstated(question: str, texts: list[str]) -> tuple[str, ...]:
    """The words of what a "why" question, or one asking what something is like, takes as
    given that none of the texts says, as the question writes them: an article that never
    says the launch was delayed cannot say why it was, however close its subject, and one
    that never mentions the weather cannot say what it was like. A word counts as itself or
    another form of it ("setting" — "set"), not as a synonym: WordNet's synonyms of "sue" are
    "action" and "process", words most articles use in other senses. A preposition is never
    taken as given ("during the talks" — the talks)."""
    if not (_WHY.match(question) or described(question)):
        return ()
    question = _OCCURRED.sub(" ", question)
    names, words = topic_words(question)
    have = stems(content_words(" ".join(texts)))
    written = {t.lower(): t for t in WORD_TOKEN.findall(question)}  # "Arizona", not "arizona"
    missing: dict[str, None] = {}
    for w in content_words(question):
        s = stem(w)
        if (
            (s in names or s in words)
            and w not in PREPOSITIONS
            and not only_adverb(w)
            and not any(found(f, have) for f in form_stems(w))
        ):
            missing[written.get(w, w)] = None
    return tuple(missing)


def open_sources(
    question: str,
    sources: list[Hit],
    retriever: Retriever,
    selector: EvidenceSelector,
    latest: bool = False,
) -> OpenSources:
    """The sources of an open question's answer: the best articles the search found, read
    whole — the evidence selection packs the sentences most like the question's words into
    a small budget, and "what happened?" or "what's in the deal?" has few such words, so
    the points a summary needs are mostly elsewhere in the article. Each source holds the
    article's opening sentence and the sentences that answer best (question match, with a
    prior for news's most important first), a few, no point made twice. `latest`: the
    newest articles found come first, as for "What's the latest on …?"."""
    latest = latest or bool(_LATEST.search(question))
    articles: list[tuple[Hit, str]] = []
    for h in sources:
        if h.article_id in (a.article_id for a, _ in articles):
            continue
        try:
            body = retriever.store.get_article(h.article_id).article.body
        except ArticleNotFoundError:  # deleted since the search
            continue
        if articles and not about_subject(question, [h.title, lead(body, 3)]):
            # A second article on another subject adds nothing to this answer: one whose
            # title and opening are not about the question ("interest rates" deep in a
            # student-loan story, for the inflation report's meaning for rates).
            continue
        articles.append((h, body))
        if len(articles) == MAX_ARTICLES and not latest:
            break
    if latest:
        # "What's the latest on …?": the newest articles on the subject, the newest first.
        articles.sort(key=lambda a: a[0].published or date.min, reverse=True)
        del articles[MAX_ARTICLES:]
    missing = unstated(question, [f"{h.title}. {body}" for h, body in articles]) if articles else ()
    if missing:
        return OpenSources([h for h, _ in articles], [], missing)
    pool: list[Sentence] = []
    lede: list[Sentence] = []  # the sentences of the first article's opening paragraph
    for i, (_, body) in enumerate(articles):
        opening = sentences(lead(body, 99))
        for pos, text in enumerate(_paragraph_sentences(body)):
            # past a dateline ("Washington CNN — …")
            first = next((t for t in opening if text.endswith(t.strip(" …"))), None)
            s = Sentence(i, pos, first or text)
            pool.append(s)
            if i == 0 and first:
                lede.append(s)
    if not pool:
        return OpenSources(sources, [])
    hits = [h for h, _ in articles]
    selector.score(question, hits, pool, embed_all=True)
    _favour_causes(question, pool)
    _favour_narrowed(question, hits, pool)
    for s in pool:
        s.score += _POSITION / (1.0 + s.pos / 10.0)
        # "His family-run business …" means nothing without the sentence before it
        s.score -= _ANAPHORIC * bool(_ANAPHOR.match(s.text))
    naming = _naming(question, pool)
    if naming:
        # "Who is Francia Marquez?": what the articles say of her, not their openings.
        pool, lede = naming, []
    # The opening paragraph's main sentence: a feature opens with a question or a scene
    # before it ("Hoping to bring some mustard home from France? …").
    openings = [max(lede, key=lambda s: s.score)] if lede else []
    chosen: list[Sentence] = list(openings)
    for s in sorted(pool, key=lambda s: -s.score):
        if len(chosen) == MAX_SENTENCES:
            break
        if s in chosen or any(_overlap(s.text, c.text) >= _SAME for c in chosen):
            continue
        chosen.append(s)
    out: list[Hit] = []
    answer: list[Sentence] = []
    for i, (h, _) in enumerate(articles):
        mine = sorted((s for s in chosen if s.hit == i), key=lambda s: s.pos)
        if mine:
            text = " … ".join(_clean(s.text) for s in mine)
            best = max(s.score for s in mine)
            out.append(replace(h, text=text, scores={**h.scores, "evidence": best}))
            answer += [replace(s, hit=len(out) - 1) for s in mine]  # its source's place
    # The opening first, then the rest in their articles' order.
    at = (0, openings[0].pos) if openings else None
    answer.sort(key=lambda s: ((s.hit, s.pos) != at, s.hit, s.pos))
    return OpenSources(out or sources, answer)
