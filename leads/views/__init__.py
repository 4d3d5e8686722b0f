"""HTML views of the salespeople's web app, one module per page family."""
