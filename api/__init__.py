"""The downstream resource API. It shares only the wire contract with the BFF, never its code."""
