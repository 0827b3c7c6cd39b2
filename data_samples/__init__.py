"""Synthetic signup-form exports: a seeded generator, the writer, and the committed samples."""
