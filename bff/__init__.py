"""The BFF: server-side sessions, the in-memory token endpoint for JS, the JWKS and the
revocation feed. `create_app(settings)` in bff.app builds it."""
