"""The Gradio chat. Callbacks call the service with the conversation so far and format what it returns
(the service resolves a follow-up against the earlier turns; "Ask as typed" sends none).

The page's own behaviour (plain-text names and copy for messages, "Ask as typed", the question's character
count, scrolling to the start of each new answer) is one small script, `SCRIPT`, run once when the page loads.
"""

from __future__ import annotations

import html
import json
import logging
from typing import Any

import gradio as gr
from gradio.events import api as gr_api

from citeqa.errors import CiteqaError

from ..answer import Answer
from ..conversation import Turn
from .feedback import FeedbackLog, Verdict
from .render import Titles, answer_html, conversation_passages_html, plain_html, text
from .service import ChatService

log = logging.getLogger("citeqa.serve")

# Colours: every text on its background reaches WCAG 2.2 AA (4.5:1) in the light and the dark scheme; Gradio's
# own subdued greys (1.8:1 on white) are replaced by ours.
CSS = """
.gradio-container{--cq-subdued:#4b5563;--cq-mark:#fcd34d;--cq-quote-edge:#b45309;--cq-alert:#b91c1c;
--body-text-color-subdued:var(--cq-subdued);--block-info-text-color:var(--cq-subdued);
--input-placeholder-color:#6b7280;--block-label-text-color:var(--cq-subdued);--block-title-text-color:#1f2937;
--button-primary-background-fill:#c2410c;--button-primary-background-fill-hover:#9a3412;
--button-primary-text-color:#ffffff;--link-text-color:#1d4ed8;--link-text-color-hover:#1e40af;
--link-text-color-visited:#6d28d9;--link-text-color-active:#1d4ed8}
.dark .gradio-container,.dark.gradio-container{--cq-subdued:#cbd5e1;--cq-alert:#fca5a5;
--input-placeholder-color:#9ca3af;--block-label-text-color:var(--cq-subdued);--block-title-text-color:#e5e7eb;
--link-text-color:#93c5fd;--link-text-color-hover:#bfdbfe;--link-text-color-visited:#c4b5fd;
--link-text-color-active:#93c5fd}
.gradio-container{max-width:56rem !important;margin:0 auto !important}
#cq-header h1{font-size:1.35rem;margin:.2rem 0}
#cq-header p{margin:0;color:var(--cq-subdued)}
#cq-chat .prose.chatbot.md{opacity:1 !important}
.cq-message p{margin:.25rem 0}
.cq-message a{color:var(--link-text-color)}
.cq-short strong{font-size:1.1em}
.cq-confidence,.cq-where,.cq-score,.cq-file,.cq-order,.cq-resolved,.cq-searched{color:var(--cq-subdued);
font-size:.85em}
.cq-file{font-family:var(--font-mono);font-size:.8em;overflow-wrap:anywhere}
.cq-quote{margin:.4rem 0;padding:.35rem .7rem;border-left:3px solid var(--cq-quote-edge);
background:rgba(245,158,11,.08)}
mark.cq-answer{background:var(--cq-mark);color:#111827;padding:0 .1em;border-radius:2px}
.cq-notice strong{color:var(--body-text-color)}
.cq-notice{border-left:3px solid var(--cq-quote-edge);padding-left:.5rem}
.cq-also{margin-top:.6rem;padding-top:.4rem;border-top:1px solid var(--border-color-primary)}
.cq-passages li,.cq-closest li{margin:.5rem 0}
.cq-passage{font-size:.9em;overflow-wrap:anywhere}
.cq-message,.cq-passages{overflow-wrap:anywhere}
.cq-sources summary{cursor:pointer;font-size:.9em}
.cq-message button,.cq-sources summary{min-height:24px}
.cq-as-typed,.cq-copy{font:inherit;font-size:.85em;padding:.1rem .6rem;border:1px solid var(--border-color-primary);
border-radius:6px;background:var(--background-fill-secondary);color:var(--body-text-color);cursor:pointer}
.cq-actions{margin-top:.4rem !important}
.cq-count{margin:.1rem .2rem 0;font-size:.85em;color:var(--cq-subdued)}
.cq-count[data-over]{color:var(--cq-alert);font-weight:600}
.cq-too-long:empty{display:none}
.cq-too-long{margin:.2rem;color:var(--cq-alert);font-weight:600}
.cq-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
.cq-turn-passages h2{font-size:1rem;margin:.8rem 0 .2rem}
#cq-feedback-status p{margin:.2rem;font-size:.9em}
.cq-example{white-space:normal !important;text-align:left !important;height:auto !important;
justify-content:flex-start !important;overflow:visible !important;text-overflow:clip !important}
#cq-examples-title h2{font-size:1rem;margin:.4rem 0 0}
@media (max-width:480px){#cq-header h1{font-size:1.15rem}#cq-header p{font-size:.85rem}
#cq-chat .bubble.bot-row{max-width:100% !important}.cq-quote{padding:.3rem .5rem}}
"""

# Gradio's own footer ("Use via API", with every internal event and an MCP tab) is off; the JSON API's docs are
# citeqa's /docs. A relative link, so that it works under --root-path.
FOOTER = '<p class="cq-footer"><a href="docs">API documentation</a> · <a href="embed-example">Embedding</a></p>'
HEADER = (
    '<div id="cq-header"><h1>citeqa</h1><p>Answers in the documents\' own words, with the exact place they '
    "stand. Nothing is generated: when the documents don't say, citeqa says so.</p></div>"
)

# Run once on page load. Gradio names each message by its markup ("bot's message: <div ..."): the name becomes
# the message's plain text (.cq-plain, written by render.py). Copy copies that text and the citation's link.
# A new answer is scrolled to its start, not the chat's bottom, so its verdict is what a phone shows first.
SCRIPT = """
() => {
  if (window.__citeqaChat) return;
  window.__citeqaChat = true;
  const LIMIT = __LIMIT__;
  const chat = () => document.getElementById("cq-chat");
  const number = (n) => n.toLocaleString("en-US");
  let seen = 0;

  function names() {
    const root = chat();
    if (!root) return;
    for (const holder of root.querySelectorAll("[aria-label]")) {
      const label = holder.getAttribute("aria-label") || "";
      const match = label.match(/^(\\w+)'s message: /);
      if (!match && !holder.hasAttribute("data-cq-named")) continue;
      const hidden = holder.querySelector(".cq-plain");
      const who = match ? match[1] : holder.getAttribute("data-cq-named");
      const plain = hidden ? hidden.textContent : holder.innerText.trim();
      const want = (who === "user" ? "You asked: " : "citeqa: ") + plain;
      holder.setAttribute("data-cq-named", who);
      if (!holder.hasAttribute("role")) holder.setAttribute("role", "article");
      if (label !== want) holder.setAttribute("aria-label", want);
    }
  }

  function scrollToNewest() {
    const root = chat();
    if (!root) return;
    const messages = root.querySelectorAll(".cq-message, .cq-error");
    if (messages.length > seen) {
      const newest = messages[messages.length - 1];
      const row = newest.closest(".message-row") || newest;
      let box = row.parentElement;
      while (box && box !== root.parentElement && !(box.scrollHeight > box.clientHeight + 1 &&
             /(auto|scroll)/.test(getComputedStyle(box).overflowY))) box = box.parentElement;
      if (box && box !== root.parentElement) {
        box.scrollTop += row.getBoundingClientRect().top - box.getBoundingClientRect().top - 4;
      }
      const top = row.getBoundingClientRect().top;
      if (top < 8 || top > window.innerHeight * 0.5) window.scrollBy(0, top - 8);
    }
    seen = messages.length;
  }

  let over = false;
  function count() {
    const box = document.querySelector("#cq-question textarea");
    const shown = document.getElementById("cq-count");
    const alert = document.getElementById("cq-too-long");
    if (!box || !shown) return;
    const n = [...box.value].length;
    shown.textContent = `${number(n)} / ${number(LIMIT)} characters`;
    shown.toggleAttribute("data-over", n > LIMIT);
    if ((n > LIMIT) !== over && alert) {
      alert.textContent = n > LIMIT
        ? `Too long: ${number(n)} characters; a question can be at most ${number(LIMIT)}. Shorten it to ask.`
        : "";
    }
    over = n > LIMIT;
  }

  const live = document.createElement("p");  // what the page says to screen readers about its own actions
  live.className = "cq-sr";
  live.setAttribute("aria-live", "polite");
  document.body.append(live);
  function announce(message) {
    live.textContent = "";
    setTimeout(() => { live.textContent = message; }, 50);
  }

  async function copy(button) {
    const message = button.closest(".cq-message");
    const hidden = message && message.querySelector(".cq-plain");
    const links = message ? [...message.querySelectorAll(".cq-cite a.cq-link")] : [];
    const plain = (hidden ? hidden.textContent : "").split("\\n").map((line) =>
      line.startsWith("Source: ") && links.length ? `${line}\\nLink: ${links.shift().href}` : line).join("\\n");
    try {
      await navigator.clipboard.writeText(plain);
    } catch (error) {
      const area = document.createElement("textarea");
      area.value = plain;
      area.style.position = "fixed";
      area.style.left = "-9999px";
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    button.textContent = "Copied";
    announce("Copied the answer, its quotes and sources as text.");
    setTimeout(() => { button.textContent = "Copy"; }, 2000);
  }

  function askAsTyped(button) {
    const field = document.querySelector("#cq-as-typed textarea, #cq-as-typed input");
    const go = document.getElementById("cq-as-typed-go");
    if (!field || !go) return;
    field.value = button.value || "";
    field.dispatchEvent(new Event("input", { bubbles: true }));
    setTimeout(() => go.click(), 0);
  }

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    const copyButton = target && target.closest("#cq-chat button.cq-copy");
    const typedButton = target && target.closest("#cq-chat button.cq-as-typed");
    if (copyButton) { event.stopPropagation(); copy(copyButton); }
    else if (typedButton) { event.stopPropagation(); askAsTyped(typedButton); }
  }, true);
  document.addEventListener("input", (event) => {
    if (event.target instanceof Element && event.target.closest("#cq-question")) count();
  }, true);
  let queued = false;
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; names(); scrollToNewest(); count(); });
  }).observe(document.body, { childList: true, subtree: true, characterData: true,
                               attributes: true, attributeFilter: ["aria-label"] });
  const status = document.getElementById("cq-feedback-status");
  if (status) status.setAttribute("aria-live", "polite");
  names(); count();
}
"""

LONG_SHOWN = 280  # characters of a too-long question echoed in the chat (the box keeps all of it)


def build_chat(service: ChatService, feedback: FeedbackLog, queue_limit: int) -> gr.Blocks:
    limit = service.answerer().settings.max_question_chars

    def titles_of(answer: Answer) -> Titles:
        sources = {p.chunk.source for p in answer.passages} | {c.source for c in answer.citations}
        found = {}
        for source in sources:
            document = service.document(source)
            if document is not None:
                found[source] = document.title
        return found

    def panel(turns: list[dict[str, Any] | None]) -> str:
        answers = [(t.get("asked") or t["question"], Answer.from_dict(t)) for t in turns if t is not None]
        titles: dict[str, str] = {}
        for _, answer in answers:
            titles.update(titles_of(answer))
        return conversation_passages_html(answers, titles)

    def reply(
        message: str, history: list[dict[str, Any]], turns: list[dict[str, Any] | None], follow: bool
    ) -> tuple[str, list[dict[str, Any]], list[dict[str, Any] | None], Any]:
        history = list(history or [])
        turns = list(turns or [])
        typed = (message or "").strip()
        if not typed:
            return message, history, turns, gr.skip()
        if len(typed) > limit:  # never cut: the box keeps the question, the chat says why it was not asked
            shown = typed if len(typed) <= LONG_SHOWN else f"{typed[:LONG_SHOWN]} … ({len(typed):,} characters)"
            history.append({"role": "user", "content": text(shown, collapse=False)})
            history.append(
                {
                    "role": "assistant",
                    "content": _error_html(
                        f"This question is {len(typed):,} characters long; citeqa takes questions of up to "
                        f"{limit:,}. It is still in the box: shorten it and ask again."
                    ),
                }
            )
            turns.append(None)
            return message, history, turns, panel(turns)
        earlier = [Turn(t["question"], t["answer"]) for t in turns if t is not None] if follow else []
        history.append({"role": "user", "content": text(typed, collapse=False)})
        try:
            found = service.ask(typed, history=earlier)  # the service resolves a follow-up against them
        except CiteqaError as exc:
            history.append({"role": "assistant", "content": _error_html(str(exc))})
            turns.append(None)
            return "", history, turns, panel(turns)
        history.append({"role": "assistant", "content": answer_html(found, titles=titles_of(found))})
        turns.append(dict(found.to_dict()))
        return "", history, turns, panel(turns)

    def respond(
        message: str, history: list[dict[str, Any]], turns: list[dict[str, Any] | None]
    ) -> tuple[str, list[dict[str, Any]], list[dict[str, Any] | None], Any]:
        return reply(message, history, turns, follow=True)

    def respond_as_typed(
        message: str, history: list[dict[str, Any]], turns: list[dict[str, Any] | None]
    ) -> tuple[str, list[dict[str, Any]], list[dict[str, Any] | None], Any]:
        """The question exactly as typed, with no earlier turn to lean on ("Ask as typed")."""
        return reply(message, history, turns, follow=False)

    def on_feedback(turns: list[dict[str, Any] | None], data: gr.LikeData) -> tuple[str, Any, Any, int | None]:
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turn = turns[index // 2] if turns and 0 <= index // 2 < len(turns) else None
        if turn is None:
            return "", gr.update(visible=False), gr.skip(), None
        verdict: Verdict = "like" if data.liked is True else "dislike" if data.liked is False else "withdrawn"
        if not record(verdict, turn):
            return _status("Your feedback could not be saved."), gr.update(visible=False), gr.skip(), None
        if verdict == "dislike":
            note = "Thanks — recorded. If you like, say what was wrong below."
            return _status(note), gr.update(visible=True), "", index // 2
        note = "Thanks — recorded." if verdict == "like" else "Your verdict is withdrawn — recorded."
        return _status(note), gr.update(visible=False), gr.skip(), None

    def on_reason(reason: str, turns: list[dict[str, Any] | None], disliked: int | None) -> tuple[str, Any, str]:
        turn = turns[disliked] if turns and disliked is not None and 0 <= disliked < len(turns) else None
        if turn is None or not (reason or "").strip():
            return _status("Write a reason first, or leave it: your dislike is recorded."), gr.skip(), reason
        if not record("dislike", turn, reason.strip()):
            return _status("Your reason could not be saved."), gr.skip(), reason
        return _status("Thanks — recorded, with your reason."), gr.update(visible=False), ""

    def record(verdict: Verdict, turn: dict[str, Any], reason: str | None = None) -> bool:
        contract = dict(turn)
        try:
            feedback.record(verdict, contract, asked=contract.get("asked"), reason=reason)
        except CiteqaError as exc:
            log.error("feedback not recorded: %s", exc)
            return False
        return True

    chat = gr.Blocks(title="citeqa", analytics_enabled=False)
    with chat:
        gr.HTML(HEADER)
        chatbot = gr.Chatbot(
            label="Conversation",
            show_label=False,
            elem_id="cq-chat",
            height="60vh",
            min_height=320,
            autoscroll=False,  # the page's script scrolls to the start of each new answer instead
            render_markdown=True,
            sanitize_html=True,
            latex_delimiters=[],
            feedback_options=("Like", "Dislike"),
            buttons=[],  # each answer has its own Copy button, which copies text, not markup
            placeholder="Ask a question about the documents. Follow-ups such as “Who signed it?” are understood.",
        )
        turns = gr.State([])
        disliked = gr.State(None)
        with gr.Row(equal_height=True):
            box = gr.Textbox(
                label="Question",
                show_label=False,
                placeholder="Ask about the documents…",
                elem_id="cq-question",
                scale=5,
                min_width=180,
                max_lines=6,
                autofocus=True,
            )
            ask = gr.Button("Ask", variant="primary", elem_id="cq-ask", scale=1, min_width=70)
        gr.HTML(
            f'<p id="cq-count" class="cq-count">0 / {limit:,} characters</p>'
            '<p id="cq-too-long" class="cq-too-long" role="alert"></p>',
            elem_id="cq-count-holder",
        )
        status = gr.HTML("", elem_id="cq-feedback-status")
        with gr.Group(visible=False, elem_id="cq-reason") as reason_group:
            reason = gr.Textbox(
                label="What was wrong with this answer? (optional)",
                placeholder="e.g. the wrong year, or the answer is in another document",
                elem_id="cq-reason-text",
                lines=2,
            )
            send_reason = gr.Button("Send reason", size="sm", elem_id="cq-reason-send")
        with gr.Accordion("Retrieved passages for each question", open=False, elem_id="cq-passages-panel"):
            passages = gr.HTML(conversation_passages_html([]), elem_id="cq-passages")
        if service.examples:
            gr.HTML('<h2 id="cq-examples-heading">Example questions</h2>', elem_id="cq-examples-title")
            with gr.Column(elem_id="cq-examples"):
                for example in service.examples:
                    button = gr.Button(example, size="sm", variant="secondary", elem_classes=["cq-example"])
                    button.click(None, None, [box], js=f"() => {json.dumps(example)}", api_visibility="private")
        clear = gr.ClearButton([chatbot, box, passages, status], value="New conversation", size="sm")
        clear.click(
            lambda: ([], None, gr.update(visible=False), conversation_passages_html([])),
            outputs=[turns, disliked, reason_group, passages],
            api_visibility="private",
        )
        chatbot.clear(  # its own trash button
            lambda: ([], conversation_passages_html([]), "", None, gr.update(visible=False)),
            outputs=[turns, passages, status, disliked, reason_group],
            api_visibility="private",
        )
        as_typed = gr.Textbox(visible="hidden", elem_id="cq-as-typed", label="Question as typed")
        as_typed_go = gr.Button("Ask as typed", visible="hidden", elem_id="cq-as-typed-go")
        outputs = [box, chatbot, turns, passages]
        ask.click(respond, [box, chatbot, turns], outputs, concurrency_id="answer", api_visibility="private")
        box.submit(respond, [box, chatbot, turns], outputs, concurrency_id="answer", api_visibility="private")
        as_typed_go.click(
            respond_as_typed,
            [as_typed, chatbot, turns],
            [as_typed, chatbot, turns, passages],
            concurrency_id="answer",
            api_visibility="private",
        )
        chatbot.like(
            on_feedback,
            [turns],
            [status, reason_group, reason, disliked],
            api_visibility="private",
            # A like and its undo clicked in quick succession are two records, in the order clicked.
            trigger_mode="multiple",
            concurrency_limit=1,
        )
        reasons = ([reason, turns, disliked], [status, reason_group, reason])
        send_reason.click(on_reason, *reasons, api_visibility="private")
        reason.submit(on_reason, *reasons, api_visibility="private")
        chat.load(None, None, None, js=SCRIPT.replace("__LIMIT__", str(limit)))

        def ask_api(question: str) -> dict[str, Any]:
            """The answer contract for one question (for gradio_client callers)."""
            return dict(service.ask(question).to_dict())

        gr_api(ask_api, api_name="ask", concurrency_id="answer")  # the one Gradio endpoint: /api/ask's contract
        gr.HTML(FOOTER, elem_id="cq-footer")
    # All answering funnels into the service's one batching worker; the model is CPU-bound on a couple of
    # cores, so more parallel Gradio workers would not answer faster. A small limit still lets questions that
    # arrive together be batched, while bounding the threads parked waiting for the worker.
    chat.queue(default_concurrency_limit=queue_limit, max_size=256)
    return chat


def _error_html(message: str) -> str:
    return f'<div class="cq-error">{plain_html(message)}<p>{text(message)}</p></div>'


def _status(message: str) -> str:
    return f'<p role="status">{html.escape(message)}</p>'
