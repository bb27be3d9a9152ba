// newsrag chat page. All article text and model output is inserted with textContent,
// never innerHTML, so nothing from an article or the model can run as markup.
"use strict";

const conversation = document.getElementById("conversation");
const form = document.getElementById("ask-form");
const input = document.getElementById("question");
const sendButton = document.getElementById("send");
const statusEl = document.getElementById("status");

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// Renders "… [1] …" with the citation markers highlighted, still only via text nodes.
function renderAnswer(node, text) {
  node.replaceChildren();
  const parts = String(text).split(/(\[\d+(?:,\s*\d+)*\])/);
  for (const part of parts) {
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
    const meta = [c.published || "undated", `score ${Number(c.score).toFixed(2)}`];
    if (c.supported === false) meta.push("not supported by this source");
    li.appendChild(el("div", "meta", meta.join(" · ")));
    li.appendChild(el("div", "source-text", c.text));
    list.appendChild(li);
  }
}

function describeError(status, body) {
  if (body && typeof body.detail === "string") return `Error ${status}: ${body.detail}`;
  return `Error ${status}: the server could not answer.`;
}

async function ask(question) {
  const turn = el("article", "turn");
  turn.appendChild(el("div", "question", question));
  const answer = el("div", "answer", "Thinking…");
  turn.appendChild(answer);
  const sources = el("ol", "sources");
  turn.appendChild(sources);
  conversation.appendChild(turn);
  turn.scrollIntoView({ block: "end" });

  try {
    const resp = await fetch("/ask", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ question }),
    });
    const body = await resp.json().catch(() => null);
    if (!resp.ok) {
      answer.className = "answer error";
      answer.textContent = describeError(resp.status, body);
      return;
    }
    answer.className = body.abstained ? "answer abstained" : "answer";
    renderAnswer(answer, body.answer);
    renderSources(sources, body.abstained ? [] : body.citations);
    turn.dataset.state = "done";
  } catch (err) {
    answer.className = "answer error";
    answer.textContent = `Network error: ${err.message}`;
  }
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

fetch("/health")
  .then((r) => r.json().then((b) => ({ ok: r.ok, b })))
  .then(({ ok, b }) => {
    statusEl.textContent = ok
      ? `${b.articles} articles · ${b.chunks} chunks · ${b.generator}`
      : describeError(503, b);
  })
  .catch(() => { statusEl.textContent = "service unreachable"; });
