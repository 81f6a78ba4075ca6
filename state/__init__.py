"""Customer state: the model, its pure transitions, features, and the stores that keep it."""
