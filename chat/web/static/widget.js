// <citeqa-chat>: ask citeqa from any intranet page.
//
//   <script type="module" src="https://citeqa.intranet/widget.js"></script>
//   <citeqa-chat src="https://citeqa.intranet/"></citeqa-chat>
//
// A plain ES module with no dependencies and no build step, served by citeqa itself at /widget.js. It talks to
// POST {src}api/ask (the answer contract, see docs/serving.md). Without `src` it asks the server it was loaded
// from. The server must allow the page's origin: `citeqa serve --cors-origin https://wiki.intranet`.
//
// CSP-friendly: no eval, no inline script, no style attributes; its styles are a constructed stylesheet
// adopted by its shadow root (allowed under `style-src 'self'`). Every string from the server or a document is
// set with textContent, so a document's markup stays text.
//
// The same script also sizes chat iframes to their content: <iframe data-citeqa src="https://citeqa.intranet/">
// is resized whenever the chat inside it says its height changed (it posts {type: "citeqa:height", height}).

const MAX_TURNS = 10; // earlier turns sent as `history` for follow-ups
const MAX_QUESTION_CHARS = 1000; // the server's limit; longer questions get a visible count, never a silent cut

const STYLE = `
:host { display: block; font: inherit; color: inherit; line-height: 1.45; }
:host([hidden]) { display: none; }
* { box-sizing: border-box; }
.log { display: grid; gap: .75em; } /* in the accessibility tree even when empty: a live region must be */
.log:not(:empty) { margin-bottom: .75em; }
.turn { border: 1px solid currentColor; border-radius: var(--citeqa-radius, 6px); padding: .6em .8em; }
.asked { margin: 0 0 .4em; font-weight: 600; overflow-wrap: anywhere; }
.turn p { margin: .3em 0; overflow-wrap: anywhere; }
.answer { font-size: 1.1em; font-weight: 700; }
.quote { margin: .4em 0; padding: .2em 0 .2em .7em; border-left: 3px solid var(--citeqa-accent, currentColor);
  overflow-wrap: anywhere; }
mark { background: var(--citeqa-mark, #fde68a); color: var(--citeqa-mark-text, #111827); padding: 0 .1em;
  border-radius: 2px; }
.meta, .understood, .searched, .hint, .count { font-size: .875em; }
.sources { margin: .4em 0; padding-left: 1.4em; }
.sources li { margin: .4em 0; }
.abstained, .error { font-weight: 600; }
a { color: var(--citeqa-link, inherit); text-decoration: underline; text-underline-offset: .15em; }
form { display: grid; gap: .35em; }
label { font-weight: 600; }
.row { display: flex; gap: .5em; align-items: stretch; }
textarea { flex: 1; min-width: 0; font: inherit; color: inherit; background: transparent; resize: vertical;
  border: 1px solid currentColor; border-radius: var(--citeqa-radius, 6px); padding: .45em .6em; }
textarea::placeholder { color: inherit; opacity: .75; }
button { font: inherit; font-weight: 600; cursor: pointer; padding: .45em 1em;
  color: var(--citeqa-accent-text, inherit); background: var(--citeqa-accent, transparent);
  border: 2px solid currentColor; border-radius: var(--citeqa-radius, 6px); }
button[aria-disabled="true"] { cursor: progress; opacity: .8; }
button.new { margin-top: .6em; font-weight: 400; padding: .25em .7em; border-width: 1px; color: inherit;
  background: transparent; }
:focus-visible { outline: 3px solid var(--citeqa-focus, currentColor); outline-offset: 2px; }
textarea:focus-visible { outline-offset: 1px; }
.count[data-over] { font-weight: 700; }
@media (forced-colors: active) { mark { forced-color-adjust: none; } }
`;

let sheet = null;

function styleSheet() {
  if (sheet === null) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(STYLE);
  }
  return sheet;
}

function el(tag, attributes = {}, text = null) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== null) node.textContent = text;
  return node;
}

// The server's offsets count code points (Python); JavaScript strings count UTF-16 units.
function slice(codePoints, start, end) {
  return codePoints.slice(Math.max(0, start), Math.max(0, end)).join("");
}

// As the chat page shows it: two decimals, 0 to 1.
function confidenceText(confidence) {
  return `confidence ${Math.max(0, Math.min(1, Number(confidence) || 0)).toFixed(2)}`;
}

let widgets = 0;

export class CiteqaChat extends HTMLElement {
  #history = [];
  #busy = false;
  #input;
  #button;
  #log;
  #count;
  #newConversation;
  #label;

  constructor() {
    super();
    const id = `citeqa-${++widgets}`;
    const root = this.attachShadow({ mode: "open" });
    root.adoptedStyleSheets = [styleSheet()];
    const box = el("section", { class: "citeqa", part: "container" });
    this.#log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": "Answers" });
    const form = el("form", { "aria-label": "Ask citeqa" });
    this.#label = el("label", { for: `${id}-q` }, "Ask the documents");
    const row = el("div", { class: "row" });
    this.#input = el("textarea", {
      id: `${id}-q`,
      name: "question",
      rows: "2",
      autocomplete: "off",
      "aria-describedby": `${id}-hint ${id}-count`,
      placeholder: "Type a question",
    });
    this.#button = el("button", { type: "submit" }, "Ask");
    const hint = el("p", { class: "hint", id: `${id}-hint` }, "Enter asks; Shift+Enter starts a new line.");
    this.#count = el("p", { class: "count", id: `${id}-count`, hidden: "" });
    this.#newConversation = el("button", { type: "button", class: "new", hidden: "" }, "New conversation");
    row.append(this.#input, this.#button);
    form.append(this.#label, row, hint, this.#count);
    box.append(this.#log, form, this.#newConversation);
    root.append(box);

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.ask(this.#input.value);
    });
    this.#input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    this.#input.addEventListener("input", () => this.#showCount());
    this.#newConversation.addEventListener("click", () => {
      this.#history = [];
      this.#log.replaceChildren();
      this.#newConversation.hidden = true;
      this.#input.focus();
    });
  }

  connectedCallback() {
    // Attributes are read here, not in the constructor (an element made by createElement has none yet).
    if (this.hasAttribute("label")) this.#label.textContent = this.getAttribute("label");
    if (this.hasAttribute("placeholder")) this.#input.placeholder = this.getAttribute("placeholder");
  }

  // The citeqa address, ending in "/": the `src` attribute, else where this script was served from.
  get base() {
    const url = new URL(this.getAttribute("src") || new URL("./", import.meta.url).href, document.baseURI);
    if (!url.pathname.endsWith("/")) url.pathname += "/";
    url.search = "";
    url.hash = "";
    return url.href;
  }

  async ask(text) {
    const question = String(text ?? "").trim();
    if (!question || this.#busy) return;
    if ([...question].length > MAX_QUESTION_CHARS) {
      this.#showCount();
      this.#count.setAttribute("role", "alert"); // say why nothing was asked
      this.#input.focus();
      return;
    }
    this.#busy = true;
    this.#button.setAttribute("aria-disabled", "true");
    this.#button.textContent = "Asking…";
    this.#log.setAttribute("aria-busy", "true");
    const turn = el("article", { class: "turn" });
    turn.append(el("p", { class: "asked" }, question));
    try {
      let [response, data] = await this.#post(question, this.#history);
      if (response.status === 422 && /^history: extra inputs/i.test(data?.message ?? "")) {
        [response, data] = await this.#post(question, []); // a citeqa older than follow-ups: ask as it stands
      }
      if (!response.ok || data === null || typeof data !== "object") {
        this.#renderError(turn, response.status, data);
      } else {
        this.#renderAnswer(turn, data);
        if (typeof data.question === "string") {
          this.#history = [...this.#history, { question: data.question, answer: data.answer }].slice(-MAX_TURNS);
        }
        this.#input.value = "";
        this.#showCount();
      }
    } catch {
      turn.append(el("p", { class: "error" }, `citeqa could not be reached at ${this.base}.`));
    } finally {
      this.#log.append(turn);
      this.#log.removeAttribute("aria-busy");
      this.#busy = false;
      this.#button.removeAttribute("aria-disabled");
      this.#button.textContent = "Ask";
      this.#newConversation.hidden = false;
      if (this.shadowRoot.activeElement === this.#button || document.activeElement === document.body) {
        this.#input.focus();
      }
      this.dispatchEvent(new CustomEvent("citeqa-answer", { bubbles: true, composed: true }));
    }
  }

  async #post(question, history) {
    const body = { question };
    if (history.length) body.history = history.slice(-MAX_TURNS); // oldest first
    const response = await fetch(new URL("api/ask", this.base), {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      credentials: "include",
    });
    return [response, await response.json().catch(() => null)];
  }

  #showCount() {
    const length = [...this.#input.value].length;
    this.#count.removeAttribute("role");
    this.#count.hidden = length < MAX_QUESTION_CHARS * 0.8;
    this.#count.toggleAttribute("data-over", length > MAX_QUESTION_CHARS);
    this.#count.textContent =
      length > MAX_QUESTION_CHARS
        ? `${length.toLocaleString()} characters: questions can be at most ${MAX_QUESTION_CHARS.toLocaleString()}.`
        : `${length.toLocaleString()} of ${MAX_QUESTION_CHARS.toLocaleString()} characters.`;
  }

  #renderError(turn, status, data) {
    const message = data && typeof data.message === "string" ? data.message : `citeqa answered HTTP ${status}.`;
    turn.append(el("p", { class: "error" }, message));
    if (data && typeof data.hint === "string" && data.hint) turn.append(el("p", { class: "meta" }, data.hint));
  }

  #renderAnswer(turn, data) {
    if (data.notice && typeof data.notice.message === "string") {
      turn.append(el("p", { class: "notice" }, data.notice.message));
    }
    const asked = typeof data.asked === "string" ? data.asked.trim() : turn.firstChild.textContent;
    if (typeof data.question === "string" && data.question !== asked) {
      const understood = el("p", { class: "understood" }, "Understood as: ");
      understood.append(el("em", {}, data.question));
      turn.append(understood);
    }
    const noticed = Boolean(data.notice && typeof data.notice.message === "string");
    if (!noticed && typeof data.searched_for === "string" && data.searched_for && data.searched_for !== data.question) {
      turn.append(el("p", { class: "searched" }, `Searched for: ${data.searched_for}`));
    }
    const citations = Array.isArray(data.citations) ? data.citations : [];
    if (data.abstained || data.answer == null || citations.length === 0) {
      if (!noticed) {
        turn.append(el("p", { class: "abstained" }, "The documents don't answer this."));
      }
      if (!noticed) turn.append(el("p", { class: "meta" }, confidenceText(data.confidence)));
      return;
    }
    const answer = el("p", { class: "answer" }, String(data.answer));
    turn.append(answer, el("p", { class: "meta" }, confidenceText(data.confidence)));
    if (citations.length === 1) {
      turn.append(this.#quote(citations[0]), this.#source(citations[0]));
      return;
    }
    turn.append(el("p", { class: "meta" }, `${citations.length} documents answer this:`));
    const list = el("ol", { class: "sources" });
    for (const citation of citations) {
      const item = el("li");
      item.append(this.#quote(citation), this.#source(citation));
      list.append(item);
    }
    turn.append(list);
  }

  // The sentence the answer stands in, the answer marked inside it.
  #quote(citation) {
    const quote = el("blockquote", { class: "quote" });
    const points = [...String(citation.quote ?? "")];
    const start = Number(citation.start) - Number(citation.quote_start);
    const end = Number(citation.end) - Number(citation.quote_start);
    if (!(start >= 0 && end > start && end <= points.length)) {
      quote.textContent = points.join("");
      return quote;
    }
    quote.append(slice(points, 0, start), el("mark", {}, slice(points, start, end)), slice(points, end, points.length));
    return quote;
  }

  #source(citation) {
    const source = String(citation.source ?? "");
    const path = source.split("/").map(encodeURIComponent).join("/");
    const href = new URL(`documents/${path}`, this.base);
    for (const name of ["start", "end", "quote_start", "quote_end"]) {
      if (Number.isInteger(citation[name])) href.searchParams.set(name, String(citation[name]));
    }
    href.hash = "cited";
    const line = el("p", { class: "meta" }, "— ");
    const link = el("a", { href: href.href, target: "_blank", rel: "noopener" }, citation.title || source);
    line.append(link);
    const where = [];
    if (citation.title && citation.title !== source) where.push(source);
    if (Number.isInteger(citation.page)) where.push(`page ${citation.page}`);
    if (where.length) line.append(` (${where.join(", ")})`);
    return line;
  }
}

// Chat iframes marked data-citeqa take the height the chat inside them reports.
function resizeFrames(event) {
  const data = event.data;
  if (!data || data.type !== "citeqa:height" || !Number.isFinite(data.height)) return;
  for (const frame of document.querySelectorAll("iframe[data-citeqa]")) {
    if (frame.contentWindow !== event.source) continue;
    if (new URL(frame.src, document.baseURI).origin !== event.origin) continue;
    frame.style.height = `${Math.max(0, Math.ceil(data.height))}px`; // CSSOM, allowed by a strict CSP
  }
}

if (!customElements.get("citeqa-chat")) {
  customElements.define("citeqa-chat", CiteqaChat);
  window.addEventListener("message", resizeFrames);
}
