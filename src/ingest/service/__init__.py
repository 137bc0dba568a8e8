"""Service: the pipeline that drives fetch -> extract -> dedup -> store, one run, the worker, status."""
