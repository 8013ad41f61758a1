"""A package whose sdist build carries a packed blob."""
