"""How both apps are served: the HTTP server's own limits, which no ASGI app can set for itself
(a request head is buffered by the server's parser before the app ever sees it)."""
