"""Initializers: the catalog, their theory, the book's custom one and plugins."""
