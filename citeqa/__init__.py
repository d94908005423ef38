"""citeqa: extractive question answering over your documents, with verbatim, character-exact citations.

The package is the four pipeline stages, which live at the repository's top level (this folder links to them):

    citeqa.ingest -> citeqa.index -> citeqa.chat -> citeqa.eval

and, under them all, `citeqa.errors` and `citeqa.paths`. Nothing is imported here: `import citeqa.ingest` must
not load a model or a web server. See docs/architecture.md.
"""
