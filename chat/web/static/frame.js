// Loaded by the chat page (Gradio's `head`, chat/web/app.py). In an iframe, the chat drops its own header (the
// embedding page has one), lets the conversation grow instead of scrolling inside a fixed box, and tells the
// embedding page its height whenever that changes: {type: "citeqa:height", height}. widget.js, on the embedding
// page, sets the height of each <iframe data-citeqa> from it, so the frame has no inner scroll bar.
// Outside an iframe it does nothing.

const EMBEDDED = `
html.cq-embedded, html.cq-embedded body { min-height: 0 !important; }
html.cq-embedded gradio-app .wrap { min-height: 0 !important; }
html.cq-embedded .column > :has(#cq-header), html.cq-embedded #cq-header { display: none !important; }
html.cq-embedded .gradio-container { max-width: none !important; margin: 0 !important; }
html.cq-embedded .gradio-container .main { padding: 4px 2px !important; max-width: none !important;
  margin: 0 !important; }
html.cq-embedded #cq-chat { height: auto !important; min-height: 14rem !important; max-height: none !important;
  overflow: visible !important; }
html.cq-embedded #cq-chat .bubble-wrap { height: auto !important; max-height: none !important;
  overflow: visible !important; }
html.cq-embedded #cq-chat .placeholder-content { min-height: 13rem; }
`;

if (window.parent !== window) {
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(EMBEDDED);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  const root = document.documentElement;
  root.classList.add("cq-embedded");
  let sent = -1;
  const post = () => {
    const height = Math.ceil(root.getBoundingClientRect().height);
    if (height !== sent) {
      sent = height;
      // Only a height: nothing the chat shows leaves the frame, whichever page embeds it.
      window.parent.postMessage({ type: "citeqa:height", height }, "*");
    }
  };
  new ResizeObserver(post).observe(root);
  post();
}
