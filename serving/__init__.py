"""How both apps are served: one entry point, `python -m serving bff|api` (`serving.server`), and
the HTTP server's own limits (`serving.limits`), which no ASGI app can set for itself (a request
head is buffered by the server's parser before the app ever sees it)."""
