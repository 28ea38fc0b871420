"""The wire contract: what the BFF and the API must agree on, written once (DESIGN.md §3).

Stdlib only, so `api/` can import it without importing anything of `bff/`: the access token's
type, claims, lifetimes, scopes and algorithms, the revocation event codec and the server-sent
event framing of the revocation feed, and the well-known paths and file names both apps use.
"""
