// newsrag chat page. All article text and model output is inserted with textContent,
// never innerHTML, so nothing from an article, a feed or the model can run as markup.
"use strict";

const $ = (id) => document.getElementById(id);
const conversation = $("conversation");
const form = $("ask-form");
const input = $("question");
const sendButton = $("send");
const statusEl = $("status");
const keyForm = $("key-form");
const keyInput = $("api-key");
const welcome = $("welcome");
const library = $("library");
const libraryToggle = $("library-toggle");
const addResult = $("add-result");
const announcer = $("announce");

// With an API key set the server wants it for writes (and, with NEWSRAG_PROTECT_READS, for
// questions too). The page asks for it when the server says so and keeps it for this tab only
// (sessionStorage), sending it as a bearer token; otherwise no key is asked for or sent.
const KEY_ITEM = "newsrag-api-key";
// The conversation survives a reload in this browser (localStorage) until "New chat".
const CHAT_ITEM = "newsrag-chat-v1";
const MAX_SAVED_TURNS = 50;
// Below this calibrated confidence an answer is shown as "not sure" (docs/EVALUATION.md).
const UNSURE = 0.5;

let turns = []; // [{question, filters, data}] of finished answers, oldest first

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
  refresh();
});

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// Icons drawn inline (no icon font, no emoji: both render as empty boxes where the font is
// missing). Fixed path data from this file only.
const ICONS = {
  up: ["M7 10v12", "M15 5.9 14 10h5.8a2 2 0 0 1 2 2.3l-1.4 8a2 2 0 0 1-2 1.7H7V10l4-8a3 3 0 0 1 4 3.9Z"],
  down: ["M17 14V2", "M9 18.1 10 14H4.2a2 2 0 0 1-2-2.3l1.4-8A2 2 0 0 1 5.6 2H17v12l-4 8a3 3 0 0 1-4-3.9Z"],
  copy: ["M8 8h12v12H8z", "M4 16V4h12"],
};

function icon(name) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  for (const d of ICONS[name]) {
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    path.setAttribute("fill", "none");
    path.setAttribute("stroke", "currentColor");
    path.setAttribute("stroke-width", "2");
    path.setAttribute("stroke-linejoin", "round");
    svg.appendChild(path);
  }
  return svg;
}

function iconButton(name, label, text) {
  const b = el("button", "");
  b.type = "button";
  b.title = label;
  b.setAttribute("aria-label", label);
  b.appendChild(icon(name));
  if (text) b.appendChild(el("span", "", text));
  return b;
}

function describeError(status, body) {
  if (body && typeof body.detail === "string") return `Error ${status}: ${body.detail}`;
  return `Error ${status}: the server could not answer.`;
}

// A fetch of JSON that says what went wrong in words, and asks for the key on a 401.
async function call(path, options = {}) {
  const headers = { ...(options.headers || {}), ...authHeaders() };
  let r;
  try {
    r = await fetch(path, { ...options, headers });
  } catch (err) {
    throw new Error(`Network error: ${err.message}`);
  }
  const body = await r.json().catch(() => null);
  if (r.status === 401) {
    sessionStorage.removeItem(KEY_ITEM);
    askForKey("API key needed (or wrong): enter it above, then try again.");
  }
  if (!r.ok) throw new Error(describeError(r.status, body));
  return body;
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

// "2024-09-20" → "20 Sep 2024" (the same in every browser locale).
function formatDate(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(iso || ""));
  if (!m) return iso ? String(iso) : "undated";
  return `${Number(m[3])} ${MONTHS[Number(m[2]) - 1]} ${m[1]}`;
}

function ago(unixSeconds) {
  const s = Math.max(0, Date.now() / 1000 - unixSeconds);
  if (s < 90) return "just now";
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 129600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

function safeLink(url, text) {
  if (url && /^https?:\/\//i.test(url)) {
    const a = el("a", "", text);
    a.href = url;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    return a;
  }
  return document.createTextNode(text);
}

// ---- The empty page: what is in scope, and questions to start from ------------------------

function feedStatus(f) {
  const parts = [];
  if (f.last_poll === null) parts.push("not polled yet");
  else parts.push(`polled ${ago(f.last_poll)}`);
  if (f.last_error) parts.push(`failed: ${f.last_error}`);
  else if (f.last_poll !== null) parts.push(`${f.items_added} articles added`);
  return parts.join(" · ");
}

function renderFeeds(list, feeds, withActions) {
  list.replaceChildren();
  if (!feeds.length) {
    list.appendChild(el("li", "muted", "No feeds yet: add one with “Add articles & feeds”."));
    return;
  }
  for (const f of feeds) {
    const li = el("li");
    li.dataset.id = f.id;
    li.appendChild(safeLink(f.url, f.title || f.url));
    li.appendChild(el("div", f.last_error ? "meta feed-error" : "meta", feedStatus(f)));
    if (withActions) {
      const box = el("span", "feed-actions");
      const poll = el("button", "", "Poll now");
      poll.type = "button";
      poll.setAttribute("aria-label", `Poll ${f.title || f.url} now`);
      poll.addEventListener("click", () => feedAction(poll, `/feeds/poll?feed_id=${f.id}`, "POST"));
      const remove = el("button", "", "Remove");
      remove.type = "button";
      remove.setAttribute("aria-label", `Remove the feed ${f.title || f.url}`);
      remove.addEventListener("click", () => feedAction(remove, `/feeds/${f.id}`, "DELETE"));
      box.append(poll, remove);
      li.querySelector(".meta").appendChild(box);
    }
    list.appendChild(li);
  }
}

async function feedAction(button, path, method) {
  button.disabled = true;
  try {
    const body = await call(path, { method });
    if (body && body.results) {
      const r = body.results[0];
      showResult(
        r.errors.length ? `Polled: ${r.added.length} added; ${r.errors[0]}` : `Polled: ${r.added.length} added.`,
        r.errors.length > 0,
      );
    } else {
      showResult("Feed removed (its articles stay in the index).");
    }
  } catch (err) {
    showResult(err.message, true);
  }
  await loadOverview();
}

function renderOverview(o) {
  $("scope").textContent = o.articles
    ? `${plural(o.articles, "article")} indexed · newest first:`
    : "No articles are indexed yet: add a link or a file with “Add articles & feeds”.";
  const headlines = $("headlines");
  headlines.replaceChildren();
  for (const h of o.newest) {
    const li = el("li");
    li.appendChild(safeLink(h.url, h.title));
    li.appendChild(el("span", "meta", ` · ${[h.source, formatDate(h.published)].filter(Boolean).join(" · ")}`));
    headlines.appendChild(li);
  }
  const box = $("suggestions");
  box.replaceChildren();
  for (const q of o.suggestions) {
    const b = el("button", "suggestion", q);
    b.type = "button";
    b.addEventListener("click", () => submitQuestion(q));
    box.appendChild(b);
  }
  renderFeeds($("feed-summary"), o.feeds, false);
  renderFeeds($("feeds"), o.feeds, true);
  libraryToggle.hidden = !o.writable;
}

async function loadOverview() {
  try {
    renderOverview(await call("/overview"));
  } catch (err) {
    $("scope").textContent = err.message;
  }
}

function showWelcome() {
  welcome.hidden = turns.length > 0 || conversation.childElementCount > 0;
}

// ---- Adding a link or files ----------------------------------------------------------------

function showResult(text, isError = false) {
  addResult.className = isError ? "result error" : "result";
  addResult.textContent = text;
}

function describeAdded(body) {
  const n = body.added.length;
  const titles = (body.titles || []).map((t) => `“${t}”`).join(", ");
  if (body.kind === "feed") {
    const feed = body.feed ? body.feed.title || body.feed.url : "the feed";
    const head = body.feed_created ? `Feed ${feed} added` : `Feed ${feed} is already followed`;
    const skipped = body.errors.length ? `; ${body.errors.length} items could not be read (${body.errors[0]})` : "";
    return `${head}: ${n} new article${n === 1 ? "" : "s"} now${skipped}.`;
  }
  if (n) return `Added ${titles || `${n} article${n === 1 ? "" : "s"}`}: you can ask about it now.`;
  if (body.duplicates.length) return "Already indexed: nothing new was added.";
  return "Nothing was added.";
}

$("link-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const url = $("link").value.trim();
  if (!url) return;
  const button = $("link-add");
  button.disabled = true;
  showResult(`Fetching ${url}…`);
  try {
    const body = await call("/links", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ url }),
    });
    showResult(describeAdded(body));
    $("link").value = "";
  } catch (err) {
    showResult(`Not added. ${err.message}`, true);
  } finally {
    button.disabled = false;
  }
  await refresh();
});

async function upload(files) {
  if (!files.length) return;
  const data = new FormData();
  for (const f of files) data.append("files", f, f.name);
  showResult(`Adding ${files.length} file${files.length === 1 ? "" : "s"}…`);
  try {
    const body = await call("/documents", { method: "POST", body: data });
    const added = body.added.length + body.updated.length;
    const dup = body.duplicates.length ? ` (${body.duplicates.length} already indexed)` : "";
    showResult(added ? `Added ${added} article${added === 1 ? "" : "s"}${dup}.` : `Nothing new was added${dup}.`);
  } catch (err) {
    showResult(`Not added. ${err.message}`, true);
  }
  $("files").value = "";
  await refresh();
}

$("files").addEventListener("change", () => upload([...$("files").files]));
const drop = $("drop");
for (const name of ["dragenter", "dragover"]) {
  drop.addEventListener(name, (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
}
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  upload([...event.dataTransfer.files]);
});

function openLibrary(open = true) {
  library.hidden = !open;
  libraryToggle.setAttribute("aria-expanded", String(open));
  if (open) {
    library.scrollIntoView({ block: "start" });
    $("link").focus();
  }
}

libraryToggle.addEventListener("click", () => openLibrary(library.hidden));

// ---- Answers -------------------------------------------------------------------------------

// Renders "… [1] …" with the citation markers highlighted, still only via text nodes.
function renderAnswer(node, text) {
  node.replaceChildren();
  for (const part of String(text).split(/(\[\d+(?:,\s*\d+)*\])/)) {
    if (/^\[\d+(?:,\s*\d+)*\]$/.test(part)) node.appendChild(el("span", "cite", part));
    else if (part) node.appendChild(document.createTextNode(part));
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

// One line per source (title · outlet · date); a cited one shows its quote, and the passage
// around it is folded away until asked for.
function sourceItem(c, withQuote) {
  const li = el("li", c.cited ? "cited" : "");
  li.dataset.id = c.id;
  const head = el("div", "source-head");
  head.appendChild(el("span", "num", `[${c.id}] `));
  head.appendChild(safeLink(c.url, c.title));
  head.appendChild(el("span", "meta", `· ${[c.source, formatDate(c.published)].filter(Boolean).join(" · ")}`));
  head.title = c.title;
  li.appendChild(head);
  if (withQuote && c.quote) {
    const q = el("div", "quote-line");
    q.appendChild(el("mark", "quote", c.quote));
    li.appendChild(q);
  }
  if (c.supported === false) li.appendChild(el("div", "unsupported quote-line", "Does not support the answer."));
  const details = el("details", "evidence");
  details.appendChild(el("summary", "", "Show the passage"));
  details.appendChild(renderSourceText(c.text, c.cited ? c.quote : null));
  details.appendChild(el("div", "meta", `retrieval score ${Number(c.score).toFixed(2)}`));
  li.appendChild(details);
  return li;
}

function renderSources(box, citations) {
  box.replaceChildren();
  const cited = citations.filter((c) => c.cited);
  const rest = citations.filter((c) => !c.cited);
  if (cited.length) {
    const list = el("ol", "sources");
    for (const c of cited) list.appendChild(sourceItem(c, true));
    box.appendChild(list);
  }
  if (rest.length) {
    const more = el("details", "more");
    const label = cited.length ? `${rest.length} more source${rest.length === 1 ? "" : "s"} searched` : `${rest.length} source${rest.length === 1 ? "" : "s"} searched`;
    more.appendChild(el("summary", "", label));
    const list = el("ol", "sources");
    for (const c of rest) list.appendChild(sourceItem(c, false));
    more.appendChild(list);
    box.appendChild(more);
  }
}

// Why an answer was withheld, in a reader's words.
const WHY = {
  weak_evidence: "None of the indexed articles seems to be about this. Add one with “Add articles & feeds”, or ask another way.",
  model: "The articles found do not say.",
  unsupported: "An answer was written, but the sources do not back it up, so it is not shown.",
  low_confidence: "The articles found touch on this, but the answer was too uncertain to show.",
  no_articles_in_window: "Nothing on this in the dates asked about.",
};

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
  const box = el("span", "feedback actions");
  const note = el("span", "meta feedback-note");
  for (const [rating, label] of [["up", "Good answer"], ["down", "Bad answer"]]) {
    const b = iconButton(rating, label);
    b.classList.add("rate", `rate-${rating}`);
    b.addEventListener("click", async () => {
      for (const x of box.querySelectorAll("button.rate")) x.disabled = true;
      try {
        await call("/feedback", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ answer_id: answerId, rating }),
        });
        box.dataset.rated = rating;
        note.textContent = "Thanks: feedback kept.";
      } catch (err) {
        note.textContent = err.message;
        for (const x of box.querySelectorAll("button.rate")) x.disabled = false;
      }
    });
    box.appendChild(b);
  }
  box.appendChild(note);
  return box;
}

// The answer with its sources, as plain text for the clipboard.
function answerAsText(question, data) {
  const lines = [`Q: ${question}`, "", data.answer];
  const cited = data.citations.filter((c) => c.cited);
  if (cited.length) lines.push("", "Sources:");
  for (const c of cited) {
    const where = [c.source, c.published].filter(Boolean).join(", ");
    lines.push(`[${c.id}] ${c.title}${where ? ` (${where})` : ""}${c.url ? ` ${c.url}` : ""}`);
    if (c.quote) lines.push(`    “${c.quote}”`);
  }
  return lines.join("\n");
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = el("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "sr-only";
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok;
  }
}

function copyButton(question, data) {
  const b = iconButton("copy", "Copy the answer with its sources", "Copy");
  b.classList.add("copy");
  b.addEventListener("click", async () => {
    const ok = await copyText(answerAsText(question, data));
    b.lastChild.textContent = ok ? "Copied" : "Copy failed";
  });
  return b;
}

// A finished answer, drawn the same way live and when the conversation is restored.
function finishTurn(parts, question, data) {
  const { turn, answer, sources, filtersEl } = parts;
  const unsure = !data.abstained && data.confidence !== null && data.confidence < UNSURE;
  answer.className = data.abstained ? "answer abstained" : unsure ? "answer unsure" : "answer";
  renderAnswer(answer, data.answer);
  // The answer itself above its sentence, when the sentence does not open with it; what was
  // streamed there goes when the checks withdrew the answer.
  const brief = !data.abstained && data.question_type === "factoid" ? data.short_answer || "" : "";
  parts.short.textContent = brief && !data.answer.toLowerCase().startsWith(brief.toLowerCase()) ? brief : "";
  if (unsure) {
    answer.appendChild(el("span", "unsure-note", ` (not sure: confidence ${Number(data.confidence).toFixed(2)})`));
  }
  turn.dataset.kind = data.question_type || "";
  if (data.abstained && WHY[data.abstain_reason]) {
    answer.after(el("div", "why", WHY[data.abstain_reason]));
  }
  // Sources the answer could not rely on are still shown, unless nothing relevant was found.
  const nothing = ["weak_evidence", "no_articles_in_window"].includes(data.abstain_reason);
  renderSources(sources, nothing ? [] : data.citations);
  filtersEl.textContent = describeFilters(data.filters_applied);
  const actions = el("div", "actions");
  if (data.abstain_reason === "no_articles_in_window") {
    const wider = el("button", "wider", "Search all dates");
    wider.type = "button";
    wider.addEventListener("click", () => {
      wider.disabled = true;
      submitQuestion(question, allDates());
    });
    actions.appendChild(wider);
  }
  if (data.abstain_reason === "weak_evidence" && !libraryToggle.hidden) {
    const add = el("button", "wider", "Add an article about this");
    add.type = "button";
    add.addEventListener("click", () => openLibrary());
    actions.appendChild(add);
  }
  if (!data.abstained) actions.appendChild(copyButton(question, data));
  actions.appendChild(feedbackButtons(data.answer_id));
  turn.appendChild(actions);
  turn.dataset.state = data.abstained ? "abstained" : "done";
}

function newTurn(question) {
  const turn = el("article", "turn");
  turn.dataset.state = "pending";
  turn.appendChild(el("div", "question", question));
  const rewritten = el("div", "meta rewritten");
  const filtersEl = el("div", "meta filters");
  const short = el("div", "short");
  const answer = el("div", "answer pending", "Searching the articles…");
  const sources = el("div", "source-box");
  turn.append(rewritten, filtersEl, short, answer, sources);
  conversation.appendChild(turn);
  welcome.hidden = true;
  return { turn, rewritten, filtersEl, short, answer, sources };
}

// A follow-up is searched as a question of its own; say so when the words changed.
function showRewrite(parts, question, standalone) {
  const same = !standalone || standalone.trim().toLowerCase() === question.trim().toLowerCase();
  parts.rewritten.textContent = same ? "" : `Searched for: ${standalone}`;
}

function showError(parts, message) {
  parts.answer.className = "answer error";
  parts.answer.textContent = message;
  parts.turn.dataset.state = "error";
  announce(message);
}

function announce(text) {
  announcer.textContent = "";
  // A change after a tick is announced even when the text repeats.
  setTimeout(() => { announcer.textContent = text; }, 50);
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

// The question asked again over every date: an explicit range replaces the window the
// question's own words set ("this week").
function allDates() {
  return { published_from: "1900-01-01", published_to: new Date().toISOString().slice(0, 10) };
}

function history() {
  const out = [];
  for (const t of turns) {
    out.push({ role: "user", content: t.question }, { role: "assistant", content: t.data.answer });
  }
  return out.slice(-20);
}

function save() {
  try {
    localStorage.setItem(CHAT_ITEM, JSON.stringify(turns.slice(-MAX_SAVED_TURNS)));
  } catch {
    // Storage full or disabled: the conversation still works, it just is not kept.
  }
}

async function ask(question, filters = null) {
  const parts = newTurn(question);
  parts.turn.scrollIntoView({ block: "end" });
  const payload = { question, history: history() };
  if (filters) payload.filters = filters;
  let resp;
  try {
    resp = await fetch("/ask/stream", {
      method: "POST",
      headers: { "Content-Type": "application/json", ...authHeaders() },
      body: JSON.stringify(payload),
    });
  } catch (err) {
    return showError(parts, `Network error: ${err.message}`);
  }
  if (!resp.ok) {
    const body = await resp.json().catch(() => null);
    if (resp.status === 401) {
      sessionStorage.removeItem(KEY_ITEM);
      askForKey("API key needed (or wrong): enter it above, then ask again.");
    }
    return showError(parts, describeError(resp.status, body));
  }
  let text = "";
  try {
    for await (const { event, data } of readEvents(resp)) {
      if (event === "sources") {
        parts.answer.textContent = "Writing…";
        showRewrite(parts, question, data.standalone_question);
        parts.filtersEl.textContent = describeFilters(data.filters_applied);
        renderSources(parts.sources, data.citations);
      } else if (event === "short") {
        parts.short.textContent += data.text;
      } else if (event === "token") {
        text += data.text;
        parts.answer.className = "answer";
        renderAnswer(parts.answer, text);
      } else if (event === "done") {
        finishTurn(parts, question, data);
        showRewrite(parts, question, data.standalone_question);
        turns.push({ question, filters, data, rewritten: parts.rewritten.textContent });
        save();
        announce(data.abstained ? `No answer: ${WHY[data.abstain_reason] || data.answer}` : `Answer: ${data.answer}`);
      } else if (event === "error") {
        showError(parts, `Error: ${data.detail}`);
      }
    }
  } catch (err) {
    showError(parts, `Connection lost: ${err.message}`);
  }
  if (parts.turn.dataset.state === "pending") showError(parts, "The answer stopped early.");
}

async function submitQuestion(question, filters = null) {
  sendButton.disabled = true;
  try {
    await ask(question, filters);
  } finally {
    sendButton.disabled = false;
    input.focus();
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const question = input.value.trim();
  if (!question) return;
  input.value = "";
  submitQuestion(question);
});

input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    form.requestSubmit();
  }
});

$("new-chat").addEventListener("click", () => {
  turns = [];
  localStorage.removeItem(CHAT_ITEM);
  conversation.replaceChildren();
  showWelcome();
  loadOverview();
  input.focus();
});

function restore() {
  let saved = [];
  try {
    saved = JSON.parse(localStorage.getItem(CHAT_ITEM) || "[]");
  } catch {
    saved = [];
  }
  if (!Array.isArray(saved)) saved = [];
  for (const t of saved) {
    if (!t || typeof t.question !== "string" || !t.data || !Array.isArray(t.data.citations)) continue;
    const parts = newTurn(t.question);
    try {
      if (t.rewritten) parts.rewritten.textContent = String(t.rewritten);
      finishTurn(parts, t.question, t.data);
      turns.push(t);
    } catch {
      parts.turn.remove(); // a stored turn this page cannot draw is dropped, not half-drawn
    }
  }
}

function checkHealth() {
  return fetch("/health", { headers: authHeaders() })
    .then((r) => r.json().then((b) => ({ ok: r.ok, b })))
    .then(({ ok, b }) => {
      if (!ok) statusEl.textContent = describeError(503, b);
      // Without the key a protected server tells only that it is up.
      else if (b.articles === undefined) askForKey("API key needed");
      else statusEl.textContent = `${plural(b.articles, "article")} · ${plural(b.chunks, "chunk")} · ${b.generator}`;
      if (ok && b.status === "warming") {
        statusEl.textContent += " · warming up the reader…";
        setTimeout(checkHealth, 2000);
      }
      return ok && b.articles !== undefined;
    })
    .catch(() => {
      statusEl.textContent = "service unreachable";
      return false;
    });
}

async function refresh() {
  if (await checkHealth()) await loadOverview();
}

restore();
showWelcome();
refresh();
