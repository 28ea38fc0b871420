"""Security primitives: CSRF, passwords, keys, tokens, redirects, headers, rate limits."""
