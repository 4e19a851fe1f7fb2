"""The read side: the projection's tables, the projection, and the queries on it."""
