"""HTTP endpoints: each class takes the collaborators it uses and lists its `routes()`."""
