"""OAuth 2 for separate API consumers: the client registry, client authentication, the grants
(client credentials, authorization code with PKCE, device code, refresh-token rotation in
families), revocation and introspection."""
