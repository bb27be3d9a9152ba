"""Judging the answers to questions that are not a quiz item (retrieval.answer.kinds): open
questions, yes/no and lists, claim by claim and item by item against the cited sources, and
whether those sources are about the question's subject at all (retrieval.check.subject)."""

from __future__ import annotations

import re

from retrieval.answer.prompt import (
    _MARKER,
    ABSTAIN_TEXT,
    OFF_TOPIC_TEXT,
    UNSUPPORTED_TEXT,
    cited_numbers,
    clean_citations,
    is_abstention,
    parse_answer,
    strip_citations,
    tidy_answer,
)
from retrieval.check.answer_check import as_sentence, cite_like, reset_checks, uncite
from retrieval.check.polarity import CLAUSES, DENIED, closest_clause, fit, turned
from retrieval.check.subject import about_subject, found, name_runs
from retrieval.check.verify import (
    CitationVerifier,
    ClaimCheck,
    as_shown,
    claim_text,
    lexical_support,
    missing_terms,
    shown_where_supported,
)
from retrieval.lang.synonyms import form_stems
from retrieval.lang.text import sentences
from retrieval.lang.words import content_words, stem, stems
from retrieval.types import Answer, Citation

_QUESTION_MARK = re.compile(r"\?[”\"']?\s*$")
# A statement of what may happen rather than of what did: a forecast, a possibility, a plan.
_HEDGED = re.compile(
    r"\b(?:could|might|may|would|likely|possibly|perhaps|expected\s+to|forecast\s+to|"
    r"predicted\s+to|plans?\s+to|hopes?\s+to|aims?\s+to|set\s+to)\b",
    re.IGNORECASE,
)
# Where a hedge's reach ends: a comma, a dash, a semicolon, a relative clause.
_HEDGE_CLAUSES = re.compile(r",\s+|;\s+|\s+[–—-]\s+|\s+(?=(?:that|which|who|whose)\b)")


def _hedged(question: str, sentence: str) -> bool:
    """The part of a sentence that answers the question is hedged. A modal reaches as far as
    its clause (the hedge-scope annotations of BioScope take it so): in "In the traditionally
    conservative state of Kansas, voters rejected a measure that would have allowed a ban" the
    "would" hedges the ban, not the state's leaning."""
    return bool(_HEDGED.search(closest_clause(question, sentence, _HEDGE_CLAUSES)))


_RUNS_ON = re.compile(r"(?<=[a-z0-9\]][.!?])\s+(?=[A-Z][a-z]+\s+\w+\s+\w+)")
_FINISHED = re.compile(rf"[.!?][”\"')]*(?:\s*{_MARKER.pattern})*\s*$")
_ITEM_SPLIT = re.compile(r"\s*(?:,|;|\band\b)\s*")


def sentences_of(text: str) -> list[str]:
    return sentences(text.strip())


def with_previous(quote: str, text: str) -> str:
    """A quoted sentence with the one before it in its source: a sentence often names its
    subject only there ("Bayline cancelled all crossings. The company did not offer…")."""
    parts = sentences_of(text)
    for i, sent in enumerate(parts):
        if i and quote.strip().startswith(sent[:40]):
            return f"{parts[i - 1]} {quote}"
    return quote


class KindJudge:
    """Judges the replies to questions that are not a quiz item — open questions, yes/no and
    lists — claim by claim against the cited sources: what no source supports is dropped or
    withdrawn, and an answer whose sources are not about the question's subject abstains.
    These answers carry no calibrated confidence (none has been fitted for them yet), so
    `confidence` stays None."""

    def __init__(self, verifier: CitationVerifier) -> None:
        self.verifier = verifier

    def _abstain(
        self,
        reason: str,
        question: str,
        citations: list[Citation],
        timings: dict[str, float],
        draft: str | None = None,
    ) -> Answer:
        text = {"model": ABSTAIN_TEXT, "unsupported": UNSUPPORTED_TEXT}.get(reason, OFF_TOPIC_TEXT)
        uncite(citations)
        return Answer(text, True, citations, timings, question, abstain_reason=reason, draft=draft)

    def _rests_on(self, c: Citation, quote: str | None) -> None:
        """The source whose own words state a claim: cited, supporting, quoted."""
        c.cited, c.supported, c.quote = True, True, quote
        c.support = max(c.support or 0.0, self.verifier.threshold)

    def _supported_only(self, text: str, citations: list[Citation]) -> tuple[str, list[ClaimCheck]]:
        """The answer keeping only its supported sentences (checked again when some were
        dropped, so that only what is kept is cited). Each sentence is judged on its own
        words: beside a long question, a short unsupported sentence scores as close to a
        source as the question does."""
        out, checks = self.verifier.check("", text, citations)
        if all(c.supported for c in checks):
            return out, checks
        kept = [
            s
            for s in sentences_of(out)
            if content_words(claim_text(s))
            and any(c.supported and c.text == claim_text(s) for c in checks)
        ]
        reset_checks(citations)
        if not kept:
            return "", []
        return self.verifier.check("", " ".join(kept), citations)

    def _on_subject(
        self, question: str, checks: list[ClaimCheck], citations: list[Citation]
    ) -> bool:
        cited = {n for c in checks if c.supported for n in c.cited}
        texts = [c.text for c in checks if c.supported]
        texts += [f"{citations[n - 1].hit.title}. {citations[n - 1].hit.text}" for n in cited]
        return about_subject(question, texts)

    def open(
        self, question: str, raw: str, citations: list[Citation], timings: dict[str, float]
    ) -> Answer:
        """Two to four cited sentences; each one checked, the unsupported ones dropped."""
        text = " ".join(line.strip() for line in raw.strip().splitlines() if line.strip())
        text = clean_citations(text, len(citations))
        if is_abstention(text):
            return self._abstain("model", question, citations, timings)
        out, checks = self._supported_only(text, citations)
        if not checks:
            return self._abstain("unsupported", question, citations, timings, draft=text)
        if not self._on_subject(question, checks, citations):
            return self._abstain("weak_evidence", question, citations, timings, draft=out)
        out = shown_where_supported(out, citations, checks)
        answer = Answer(out, False, citations, timings, question)
        answer.claims = [c.to_dict() for c in checks]
        return answer

    def yes_no(
        self, question: str, raw: str, citations: list[Citation], timings: dict[str, float]
    ) -> Answer:
        """ "Yes" or "No" and the cited sentence that shows it. The sentence must be supported
        and about the question's subject; a "No" must rest on a sentence that says so (a
        negation, "instead", "only"…) — a source that is merely silent is no "No". A reader
        quotes what agrees with the question's words and says "Yes" to most questions, so a
        shown sentence that states the opposite decides when the reader's answer cannot
        stand, or when it matches the question more closely than the sentence the answer
        shows (a reader's "No" then shows the sentence that says so)."""
        answer = self._reader_verdict(question, raw, citations, timings)
        if answer.abstain_reason == "model":
            return answer  # the reader found no answer: a negation nearby is no "No"
        contrary = _contrary(question, citations)
        if contrary is None:
            return answer
        n, stated = contrary
        said = " ".join(c["text"] for c in answer.claims or [])
        if not answer.abstained and fit(question, said)[0] >= fit(question, stated)[0]:
            return answer
        reset_checks(citations)  # the answer rests on this one source
        self._rests_on(citations[n - 1], stated)
        text, check = _stated(n, stated)
        out = Answer(
            f"No. {text[0].upper()}{text[1:]}",
            False,
            citations,
            timings,
            question,
            short_answer="no",
        )
        out.claims = [check.to_dict()]
        return out

    def _reader_verdict(
        self, question: str, raw: str, citations: list[Citation], timings: dict[str, float]
    ) -> Answer:
        """The reader's "Yes" or "No" and its quoted sentence, judged by the checks."""
        parsed = parse_answer(tidy_answer(raw))
        short = clean_citations(parsed.short, len(citations))
        sentence = clean_citations(parsed.sentence, len(citations))
        if is_abstention(short) or (not sentence and is_abstention(strip_citations(short))):
            return self._abstain("model", question, citations, timings)
        words = strip_citations(short).lower().split()
        verdict = words[0].strip(".,:;!") if words else ""
        if verdict not in ("yes", "no"):
            return self._abstain("unsupported", question, citations, timings, draft=short)
        body = re.sub(r"^(?:yes|no)\b[\s,.:;—-]*", "", sentence, flags=re.IGNORECASE).strip()
        if not body:
            return self._abstain("unsupported", question, citations, timings, draft=short)
        if not cited_numbers(body) and cited_numbers(short):
            body = cite_like(body, short)
        out, checks = self._supported_only(as_sentence(body), citations)
        if not checks or all(_echoes(question, c, citations) for c in checks if c.supported):
            # A sentence in the question's own words and no other ("Yes. The US sent
            # warships toward Taiwan [1]." over a source on China's warships near Taiwan)
            # shows nothing a source says.
            return self._abstain("unsupported", question, citations, timings, draft=body)
        if not self._on_subject(question, checks, citations):
            return self._abstain("weak_evidence", question, citations, timings, draft=out)
        said = [c.text for c in checks if c.supported]
        said += [
            with_previous(c.quote, c.hit.text)
            for c in citations
            if c.cited and c.supported and c.quote
        ]
        if not about_subject(
            question, said, all_names=False, named_in=_titles(question, said, citations)
        ):
            # A yes or no must rest on a sentence about what was asked, not on the subject's
            # source at large ("Will astronauts fly on Artemis I?" — "Yes. Artemis I will
            # launch on a mission…").
            return self._abstain("unsupported", question, citations, timings, draft=out)
        # The verdict the source's own words give: the question and the sentence that
        # supports the answer agree in polarity ("Yes") or one of them is negated ("No").
        quoted = [
            (c.id, piece)
            for c in citations
            if c.cited and c.supported and c.quote
            for piece in re.split(r"\s*…\s*|(?<=[.!?])\s+", c.quote)
            if content_words(piece)
        ]
        stated = [q for _, q in quoted] + [c.text for c in checks if c.supported]
        if verdict == "no" and not any(turned(question, t) for t in stated):
            # A "No" rests on a source that states the opposite, never on its silence.
            return self._abstain("unsupported", question, citations, timings, draft=out)
        # The source's own words that are closest to the question decide against a "Yes"
        # (not any negation nearby: "…, rather than a developing one" beside "Sri Lanka is
        # bankrupt" is no "No").
        pieces = quoted or [(c.cited[0], c.text) for c in checks if c.supported and c.cited]
        closest = max(pieces, key=lambda p: fit(question, p[1])[0], default=None)
        if (
            verdict == "yes"
            and closest is not None
            and _hedged(question, closest[1])
            and not _HEDGED.search(question)
        ):
            # What a source says could or may happen does not say that it did.
            return self._abstain("unsupported", question, citations, timings, draft=out)
        if (
            verdict == "yes"
            and closest is not None
            and turned(question, closest_clause(question, closest[1]))
        ):
            # The reader said "Yes" over a source that says the opposite: the source wins,
            # in its own words.
            n, quote = closest
            out, check = _stated(n, quote)
            verdict, checks = "no", [check]
        out, checks = _deciding_sentence(question, out, checks)
        out = shown_where_supported(out, citations, checks)
        out = out[0].upper() + out[1:]
        answer = Answer(
            f"{verdict.capitalize()}. {out}",
            False,
            citations,
            timings,
            question,
            short_answer=verdict,
        )
        answer.claims = [c.to_dict() for c in checks]
        return answer

    def items(
        self, question: str, raw: str, citations: list[Citation], timings: dict[str, float]
    ) -> Answer:
        """Every item the sources give, each checked on its own (an item no shown source
        contains is dropped), and the sentence when it names them all."""
        parsed = parse_answer(tidy_answer(raw))
        short = clean_citations(parsed.short, len(citations))
        sentence = clean_citations(parsed.sentence, len(citations))
        if is_abstention(short) or is_abstention(sentence or short):
            return self._abstain("model", question, citations, timings)
        shown = [as_shown(c.hit, question) for c in citations]
        kept: list[tuple[str, list[int]]] = []
        dropped = False
        # The items line ends where a sentence begins ("…, exhaustion and a rash. The rash
        # goes through stages, …"): what follows describes, it lists nothing.
        listing = _RUNS_ON.split(short, maxsplit=1)[0]
        for piece in _ITEM_SPLIT.split(listing):
            item = strip_citations(piece).strip(" .")
            if not content_words(item):
                continue
            if _the_category(question, item):
                dropped = True  # "The bipartisan group of senators" lists no senator
                continue
            cited = [n for n in cited_numbers(piece) if 1 <= n <= len(citations)]
            order = cited + [j + 1 for j in range(len(citations)) if j + 1 not in cited]
            found = [n for n in order if item_in(item, shown[n - 1])]
            if not found:
                dropped = True
            elif item.lower() not in (k.lower() for k, _ in kept):
                kept.append((item, found[:1]))
        if not kept:
            return self._abstain("unsupported", question, citations, timings, draft=short)
        bare = [k for k, _ in kept]
        body = strip_citations(sentence)
        listed = as_sentence(joined_items([f"{k} [{ns[0]}]" for k, ns in kept]))
        text = listed
        # A sentence the token budget cut ("… collect data on what future human") is no
        # sentence to show.
        finished = bool(_FINISHED.search(sentence))
        if sentence and finished and not dropped and all(item_in(k, body) for k in bare):
            text = sentence if cited_numbers(sentence) else cite_like(sentence, short)
        out, checks = self.verifier.check(question, text, citations)
        if text != listed and not all(c.supported for c in checks):
            # The sentence says more than its sources do: the items alone, each cited.
            reset_checks(citations)
            text = listed
            out, checks = self.verifier.check(question, text, citations)
        for k, ns in kept:  # an item's own source supports it, whatever the sentence scored
            c = citations[ns[0] - 1]
            quote = c.quote or next((s for s in sentences_of(c.hit.text) if item_in(k, s)), None)
            self._rests_on(c, quote)
        if not self._on_subject(
            question, [ClaimCheck(k, ns, 1.0, True) for k, ns in kept], citations
        ):
            return self._abstain("weak_evidence", question, citations, timings, draft=out)
        out = shown_where_supported(out, citations, checks)
        answer = Answer(out, False, citations, timings, question, short_answer=joined_items(bare))
        # The items are the claims: a sentence shown is supported whole (above), and the
        # items alone are each in their own source, which the check of the joined list as
        # one sentence does not measure.
        answer.claims = [ClaimCheck(k, ns, 1.0, True).to_dict() for k, ns in kept]
        return answer


# What a list question asks for: the plural noun after "which" or "what" ("Which French
# supermarket chains …" — chains).
_CATEGORY = re.compile(
    r"^(?i:which|what)\s+(?i:(?:are|were)\s+the\s+)?(?:[\w-]+\s+){0,3}?([a-z]+s)\b"
)


def _echoes(question: str, check: ClaimCheck, citations: list[Citation]) -> bool:
    """A claim that is the question put as a statement — every word of it the question's, as
    itself or another form of it ("sent" — "send") — and that its sources do not state word
    for word: the reader's echo of the question, which the support check can pass on the
    question's words alone (two thirds of them were in a source on another country's ships)."""
    asked = stems(content_words(question))
    said = content_words(check.text)
    if not said or not all(form_stems(w) & asked for w in said):
        return False
    cited = " ".join(citations[n - 1].hit.text for n in check.cited if 0 < n <= len(citations))
    return lexical_support(check.text, cited) < 1.0


def _the_category(question: str, item: str) -> bool:
    """An item that is the asked category itself, naming no member of it: it holds the
    category's word and no name ("a suited mannequin that collects data", "Senators")."""
    m = _CATEGORY.search(question.strip())
    if m is None or stem(m.group(1)) not in stems(content_words(item)):
        return False
    return not any(w[:1].isupper() for w in item.split()[1:])


def _deciding_sentence(
    question: str, text: str, checks: list[ClaimCheck]
) -> tuple[str, list[ClaimCheck]]:
    """A yes or no and the one sentence that shows it: of the sentences a reader quoted, the
    one that shares most words with the question (of equals, the one with fewer other words).
    The others are what stood near it in the source, and a quote the token budget cut ends
    mid-clause."""
    parts = [(p, claim_text(p)) for p in sentences_of(text)]
    kept = [(p, t) for p, t in parts if any(c.supported and c.text == t for c in checks)]
    if len(kept) < 2:
        return text, checks
    best, best_text = max(kept, key=lambda part: fit(question, part[1]))
    return best, [c for c in checks if c.text == best_text][:1]


def _titles(question: str, said: list[str], citations: list[Citation]) -> tuple[str, ...]:
    """The titles of the cited articles, where the quoted sentences name none of the
    question's names: such a sentence leans on its article for its subject ("The quake
    triggered landslides", in "Philippines earthquake: …"). One that names some of them and
    not the others is about those it names ("… an alliance between American and JetBlue"
    for "the JetBlue-Spirit deal")."""
    if not _names_none(question, said):
        return ()
    return tuple(c.hit.title for c in citations if c.cited and c.supported)


def _names_none(question: str, said: list[str]) -> bool:
    have = stems(content_words(" ".join(said)))
    return not any(found(n, have) for run in name_runs(question) for n in run)


def _contrary(question: str, citations: list[Citation]) -> tuple[int, str] | None:
    """The shown sentence that states the opposite of what the question asks ("Also left
    out is a federal ban on assault weapons" for "Does the framework include a ban on
    assault weapons?"): one of the two negated, or the sentence stating the opposite change
    or rank (`polarity.opposed`); every name of the question in it (or, when it names none of
    them, in its article's title or the sentence before it) and half its other words; of
    several, the one sharing most words with the question. Its source number and the
    sentence."""
    best: tuple[int, int, str] | None = None
    for c in citations:
        said = sentences_of(c.hit.text.replace(" … ", " "))
        for i, sent in enumerate(said):
            if _QUESTION_MARK.search(sent):
                continue
            for clause in CLAUSES.split(sent):  # a negation reaches as far as its clause
                if not turned(question, clause, DENIED):
                    continue
                # "Neither airline has …" names its airlines in the sentence before it
                before = said[i - 1 : i]
                titled = (c.hit.title, *before) if _names_none(question, [clause]) else ()
                if not about_subject(question, [clause], all_names=False, named_in=titled):
                    continue
                close = fit(question, clause)[0]  # of equals, the one the evidence ranked first
                if best is None or close > best[0]:
                    best = (close, c.id, sent.strip())
    return (best[1], best[2]) if best else None


def _stated(n: int, quote: str) -> tuple[str, ClaimCheck]:
    """A source's sentence as the answer's claim, citing it."""
    return f"{quote.strip().rstrip('.!?')} [{n}].", ClaimCheck(quote.strip(), [n], 1.0, True)


def joined_items(items: list[str]) -> str:
    """ "A", "A and B", "A, B and C"."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def item_in(item: str, source: str) -> bool:
    """A list item is in a source: most of its words, and every name or number in it."""
    return lexical_support(item, source) >= 0.5 and not missing_terms(f"x {item}", source)
