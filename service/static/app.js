// newsrag chat page. All article text and model output is inserted with textContent,
// never innerHTML, so nothing from an article or the model can run as markup.
"use strict";

const conversation = document.getElementById("conversation");
const form = document.getElementById("ask-form");
const input = document.getElementById("question");
const sendButton = document.getElementById("send");
const statusEl = document.getElementById("status");
const keyForm = document.getElementById("key-form");
const keyInput = document.getElementById("api-key");
const history = []; // [{role, content}] sent with each question so follow-ups work

// With NEWSRAG_PROTECT_READS the server wants its API key for questions too. The page asks for
// it when the server says so and keeps it for this tab only (sessionStorage), sending it as a
// bearer token; without protected reads no key is ever asked for or sent.
const KEY_ITEM = "newsrag-api-key";

function authHeaders() {
  const key = sessionStorage.getItem(KEY_ITEM);
  return key ? { Authorization: `Bearer ${key}` } : {};
}

function askForKey(message) {
  keyForm.hidden = false;
  statusEl.textContent = message;
  keyInput.focus();
}

keyForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const key = keyInput.value.trim();
  if (!key) return;
  sessionStorage.setItem(KEY_ITEM, key);
  keyInput.value = "";
  keyForm.hidden = true;
  checkHealth();
});
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// Renders "… [1] …" with the citation markers highlighted, still only via text nodes.
// Below this calibrated confidence an answer is shown as "not sure" (docs/EVALUATION.md).
const UNSURE = 0.5;

function renderAnswer(node, text) {
  node.replaceChildren();
  for (const part of String(text).split(/(\[\d+(?:,\s*\d+)*\])/)) {
    if (/^\[\d+(?:,\s*\d+)*\]$/.test(part)) node.appendChild(el("span", "cite", part));
    else if (part) node.appendChild(document.createTextNode(part));
  }
}

function renderSources(list, citations) {
  list.replaceChildren();
  for (const c of citations) {
    const li = el("li", c.cited ? "cited" : "");
    li.dataset.id = c.id;
    const head = el("div", "source-head");
    head.appendChild(document.createTextNode(`[${c.id}] `));
    if (c.url && /^https?:\/\//i.test(c.url)) {
      const a = el("a", "", c.title);
      a.href = c.url;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      head.appendChild(a);
    } else {
      head.appendChild(document.createTextNode(c.title));
    }
    li.appendChild(head);
    const meta = [c.published || "undated"];
    if (c.source) meta.push(c.source);
    meta.push(`score ${Number(c.score).toFixed(2)}`);
    if (c.supported === true) meta.push("verified");
    if (c.supported === false) meta.push("not supported by this source");
    li.appendChild(el("div", "meta", meta.join(" · ")));
    li.appendChild(renderSourceText(c.text, c.cited ? c.quote : null));
    list.appendChild(li);
  }
}

// The source text with the sentence that supports the answer highlighted (<mark>), built
// from text nodes only. The quote comes from the server's citation check, never the model.
function renderSourceText(text, quote) {
  const node = el("div", "source-text");
  const at = quote ? text.indexOf(quote) : -1;
  if (at < 0) {
    node.textContent = text;
    return node;
  }
  node.appendChild(document.createTextNode(text.slice(0, at)));
  node.appendChild(el("mark", "quote", quote));
  node.appendChild(document.createTextNode(text.slice(at + quote.length)));
  return node;
}

function describeFilters(applied) {
  if (!applied || (!applied.published_from && !applied.published_to && !applied.sources.length)) {
    return "";
  }
  const parts = [];
  if (applied.published_from || applied.published_to) {
    parts.push(`published ${applied.published_from || "…"} to ${applied.published_to || "…"}`);
  }
  if (applied.sources.length) parts.push(`from ${applied.sources.join(", ")}`);
  const why = applied.from_question ? ` (from “${applied.from_question}”)` : "";
  return `Articles ${parts.join(", ")}${why}`;
}

// Thumbs up/down, kept by the server with the answer (POST /feedback).
function feedbackButtons(answerId) {
  const box = el("div", "feedback");
  const note = el("span", "meta feedback-note");
  for (const [rating, label, text] of [["up", "Good answer", "👍"], ["down", "Bad answer", "👎"]]) {
    const b = el("button", `rate rate-${rating}`, text);
    b.type = "button";
    b.title = label;
    b.setAttribute("aria-label", label);
    b.addEventListener("click", async () => {
      for (const x of box.querySelectorAll("button")) x.disabled = true;
      try {
        const r = await fetch("/feedback", {
          method: "POST",
          headers: { "Content-Type": "application/json", ...authHeaders() },
          body: JSON.stringify({ answer_id: answerId, rating }),
        });
        const body = await r.json().catch(() => null);
        if (!r.ok) throw new Error(describeError(r.status, body));
        box.dataset.rated = rating;
        note.textContent = "Thanks: feedback kept.";
      } catch (err) {
        note.textContent = err.message;
        for (const x of box.querySelectorAll("button")) x.disabled = false;
      }
    });
    box.appendChild(b);
  }
  box.appendChild(note);
  return box;
}

function describeError(status, body) {
  if (body && typeof body.detail === "string") return `Error ${status}: ${body.detail}`;
  return `Error ${status}: the server could not answer.`;
}

// Parses a Server-Sent Events byte stream from fetch (EventSource cannot POST).
async function* readEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) event = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      yield { event, data: JSON.parse(data.join("\n")) };
    }
  }
}

function showError(turn, answer, message) {
  answer.className = "answer error";
  answer.textContent = message;
  turn.dataset.state = "error";
}

// The question asked again over every date: an explicit range replaces the window the
// question's own words set ("this week").
function allDates() {
  return { published_from: "1900-01-01", published_to: new Date().toISOString().slice(0, 10) };
}

async function ask(question, filters = null) {
  const turn = el("article", "turn");
  turn.dataset.state = "pending";
  turn.appendChild(el("div", "question", question));
  const rewritten = el("div", "meta rewritten");
  turn.appendChild(rewritten);
  const filtersEl = el("div", "meta filters");
  turn.appendChild(filtersEl);
  const answer = el("div", "answer pending", "Searching the articles…");
  turn.appendChild(answer);
  const sources = el("ol", "sources");
  turn.appendChild(sources);
  conversation.appendChild(turn);
  turn.scrollIntoView({ block: "end" });

  let resp;
  try {
    resp = await fetch("/ask/stream", {
      method: "POST",
      headers: { "Content-Type": "application/json", ...authHeaders() },
      body: JSON.stringify(
        filters ? { question, filters, history: history.slice(-20) } : { question, history: history.slice(-20) },
      ),
    });
  } catch (err) {
    return showError(turn, answer, `Network error: ${err.message}`);
  }
  if (!resp.ok) {
    const body = await resp.json().catch(() => null);
    if (resp.status === 401) {
      sessionStorage.removeItem(KEY_ITEM);
      askForKey("API key needed (or wrong): enter it above, then ask again.");
    }
    return showError(turn, answer, describeError(resp.status, body));
  }
  let text = "";
  try {
    for await (const { event, data } of readEvents(resp)) {
      if (event === "sources") {
        answer.textContent = "Writing…";
        if (data.standalone_question) rewritten.textContent = `Searched for: ${data.standalone_question}`;
        filtersEl.textContent = describeFilters(data.filters_applied);
        renderSources(sources, data.citations);
      } else if (event === "token") {
        text += data.text;
        answer.className = "answer";
        renderAnswer(answer, text);
      } else if (event === "done") {
        // An answer the calibrated confidence is unsure of is shown as such, never hidden.
        const unsure = !data.abstained && data.confidence !== null && data.confidence < UNSURE;
        answer.className = data.abstained ? "answer abstained" : unsure ? "answer unsure" : "answer";
        renderAnswer(answer, data.answer);
        if (unsure) {
          answer.appendChild(
            el("span", "unsure-note", ` (not sure: confidence ${Number(data.confidence).toFixed(2)})`),
          );
        }
        turn.dataset.kind = data.question_type || "";
        // Sources the answer could not rely on are still shown, unless nothing relevant was
        // found at all.
        const nothing = ["weak_evidence", "no_articles_in_window"].includes(data.abstain_reason);
        renderSources(sources, nothing ? [] : data.citations);
        if (data.abstain_reason === "no_articles_in_window") {
          const wider = el("button", "wider", "Search all dates");
          wider.type = "button";
          wider.addEventListener("click", () => {
            wider.disabled = true;
            ask(question, allDates());
          });
          turn.appendChild(wider);
        }
        filtersEl.textContent = describeFilters(data.filters_applied);
        turn.appendChild(feedbackButtons(data.answer_id));
        turn.dataset.state = data.abstained ? "abstained" : "done";
        history.push({ role: "user", content: question });
        history.push({ role: "assistant", content: data.answer });
      } else if (event === "error") {
        showError(turn, answer, `Error: ${data.detail}`);
      }
    }
  } catch (err) {
    showError(turn, answer, `Connection lost: ${err.message}`);
  }
  if (turn.dataset.state === "pending") showError(turn, answer, "The answer stopped early.");
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const question = input.value.trim();
  if (!question) return;
  input.value = "";
  sendButton.disabled = true;
  try {
    await ask(question);
  } finally {
    sendButton.disabled = false;
    input.focus();
  }
});

input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    form.requestSubmit();
  }
});

function checkHealth() {
  fetch("/health", { headers: authHeaders() })
    .then((r) => r.json().then((b) => ({ ok: r.ok, b })))
    .then(({ ok, b }) => {
      if (!ok) statusEl.textContent = describeError(503, b);
      // Without the key a protected server tells only that it is up.
      else if (b.articles === undefined) askForKey("API key needed");
      else statusEl.textContent = `${b.articles} articles · ${b.chunks} chunks · ${b.generator}`;
    })
    .catch(() => { statusEl.textContent = "service unreachable"; });
}

checkHealth();
