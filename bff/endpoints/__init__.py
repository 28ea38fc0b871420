"""HTTP endpoints; each module exposes `routes(services)`."""
