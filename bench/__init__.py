"""The matrx-orm benchmark suite: raw asyncpg and four ORMs side by side (``python -m bench``)."""
