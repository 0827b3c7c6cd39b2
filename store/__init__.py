"""The panel store: volunteers, versioned profiles, studies, match runs, decisions, outreach.

One way in: **plain functions over a connection.** Every store operation is a function in
the store module that owns its tables (``store.studies``, ``store.match_runs``,
``store.decisions``, ...), taking a SQLAlchemy ``Connection`` first; the caller owns the
transaction, so several operations can share one.

``store.panel_store.PanelStore`` is the store's handle. It owns the engine, the pseudonym
hasher (``hasher``), the raw archive (``archive``) and the staging folder (``staging``),
and opens connections: ``store.reading()`` (a connection) and ``store.writing()`` (a
transaction); ``store.writer_turn()`` is, on SQLite, the writer's turn among the processes
writing (``store.database.writer_turn``), which the review app takes for its writes.
``PanelStore.open(settings.store)`` opens the store a settings section describes (a Dask
worker opens it from its own environment's settings).

Code outside the store never opens ``engine.connect()`` or ``engine.begin()`` itself. The
few steps that span several transactions (storing a file a part at a time, the follow-up of
an erasure beyond the tables, the ingest lock) take the handle: ``store.ingest_runs``,
``outreach``'s send loop.
"""
