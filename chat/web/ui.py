"""The Gradio chat. Callbacks only resolve the follow-up, call the service and format what it returns."""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr
from gradio.events import api as gr_api

from citeqa.errors import CiteqaError

from ..conversation import Turn, resolve
from .feedback import FeedbackLog
from .render import answer_html, passages_html, text
from .service import ChatService

log = logging.getLogger("citeqa.serve")

CSS = """
.gradio-container{max-width:56rem !important;margin:0 auto !important}
#cq-header h1{font-size:1.35rem;margin:.2rem 0}
#cq-header p{margin:0;color:var(--body-text-color-subdued)}
.cq-message p{margin:.25rem 0}
.cq-short strong{font-size:1.1em}
.cq-confidence,.cq-where,.cq-score{color:var(--body-text-color-subdued);font-size:.85em}
.cq-quote{margin:.4rem 0;padding:.35rem .7rem;border-left:3px solid #f59e0b;background:rgba(245,158,11,.08)}
mark.cq-answer{background:#fcd34d;color:#111827;padding:0 .1em;border-radius:2px}
.cq-resolved{font-size:.85em;color:var(--body-text-color-subdued)}
.cq-passages li,.cq-closest li{margin:.5rem 0}
.cq-passage{font-size:.9em;overflow-wrap:anywhere}
.cq-message,.cq-passages{overflow-wrap:anywhere}
@media (max-width:480px){#cq-header h1{font-size:1.15rem}#cq-header p{font-size:.85rem}
#cq-chat .bubble.bot-row{max-width:100% !important}.cq-quote{padding:.3rem .5rem}}
"""

HEADER = (
    '<div id="cq-header"><h1>citeqa</h1><p>Answers in the documents\' own words, with the exact place they '
    "stand. Nothing is generated: when the documents don't say, citeqa says so.</p></div>"
)


def build_chat(service: ChatService, feedback: FeedbackLog, queue_limit: int) -> gr.Blocks:
    def respond(
        message: str, history: list[dict[str, Any]], turns: list[dict[str, Any] | None]
    ) -> tuple[str, list[dict[str, Any]], list[dict[str, Any] | None], Any]:
        history = list(history or [])
        turns = list(turns or [])
        if not (message or "").strip():
            return message, history, turns, gr.skip()
        last = next((t for t in reversed(turns) if t is not None), None)
        previous = Turn(last["question"], last["answer"]) if last else None
        question = resolve(message, previous)
        history.append({"role": "user", "content": text(message, collapse=False)})
        try:
            answer = service.ask(question)
        except CiteqaError as exc:
            history.append({"role": "assistant", "content": f'<p class="cq-error">{text(str(exc))}</p>'})
            turns.append(None)
            return "", history, turns, ""
        history.append({"role": "assistant", "content": answer_html(answer, asked=message)})
        turns.append({**answer.to_dict(), "asked": message})
        return "", history, turns, passages_html(answer.passages)

    def on_feedback(turns: list[dict[str, Any] | None], data: gr.LikeData) -> None:
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turn = turns[index // 2] if turns and 0 <= index // 2 < len(turns) else None
        if turn is None or data.liked not in (True, False):
            return
        asked = turn.get("asked")
        contract = {k: v for k, v in turn.items() if k != "asked"}
        try:
            feedback.record("like" if data.liked else "dislike", contract, asked=asked)
        except CiteqaError as exc:
            log.error("feedback not recorded: %s", exc)
            gr.Warning("Your feedback could not be saved.")

    chat = gr.Blocks(title="citeqa", analytics_enabled=False)
    with chat:
        gr.HTML(HEADER)
        chatbot = gr.Chatbot(
            label="Conversation",
            elem_id="cq-chat",
            height="60vh",
            min_height=320,
            render_markdown=True,
            sanitize_html=True,
            latex_delimiters=[],
            feedback_options=("Like", "Dislike"),
            buttons=["copy"],
            placeholder="Ask a question about the documents. Follow-ups such as “Who signed it?” are understood.",
        )
        turns = gr.State([])
        with gr.Row(equal_height=True):
            box = gr.Textbox(
                show_label=False,
                placeholder="Ask about the documents…",
                elem_id="cq-question",
                scale=5,
                min_width=180,
                max_length=service.answerer().settings.max_question_chars,
                autofocus=True,
            )
            ask = gr.Button("Ask", variant="primary", elem_id="cq-ask", scale=1, min_width=70)
        with gr.Accordion("Retrieved passages and scores", open=False, elem_id="cq-passages-panel"):
            passages = gr.HTML(elem_id="cq-passages")
        if service.examples:
            gr.Examples(examples=[[q] for q in service.examples], inputs=[box], label="Example questions")
        clear = gr.ClearButton([chatbot, box, passages], value="New conversation", size="sm")
        clear.click(lambda: [], outputs=[turns], api_visibility="private")
        chatbot.clear(lambda: ([], ""), outputs=[turns, passages], api_visibility="private")  # its own trash button
        outputs = [box, chatbot, turns, passages]
        ask.click(respond, [box, chatbot, turns], outputs, concurrency_id="answer", api_name="ask_chat")
        box.submit(respond, [box, chatbot, turns], outputs, concurrency_id="answer", api_visibility="private")
        chatbot.like(on_feedback, [turns], None, api_visibility="private")

        def ask_api(question: str) -> dict[str, Any]:
            """The answer contract for one question (for gradio_client callers)."""
            return dict(service.ask(question).to_dict())

        gr_api(ask_api, api_name="ask", concurrency_id="answer")
    # All answering funnels into the service's one batching worker; the model is CPU-bound on a couple of
    # cores, so more parallel Gradio workers would not answer faster. A small limit still lets questions that
    # arrive together be batched, while bounding the threads parked waiting for the worker.
    chat.queue(default_concurrency_limit=queue_limit, max_size=256)
    return chat
