"""The chat on the web: the Gradio UI, the JSON API, document pages and feedback, served by one FastAPI app.

It depends on the answering core (`citeqa.chat`), never the other way; its libraries (gradio, fastapi, uvicorn)
are the `serve` install extra, so ingest, ask and eval run without them.
"""

import os

# Before any module of this package imports gradio: no usage analytics, ever (citeqa runs on air-gapped intranets).
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
