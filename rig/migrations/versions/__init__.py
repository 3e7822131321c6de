"""One file per schema revision, named by its id (0001, 0002 …)."""
