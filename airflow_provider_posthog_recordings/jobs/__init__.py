"""The jobs a DAG task runs, one module each, with no Airflow import.

* :mod:`.purge`: delete recordings older than a retention period, keeping protected ones;
* :mod:`.erasure`: delete given recordings, or every recording of some people;
* :mod:`.curation`: keep a playlist in step with a recordings query;
* :mod:`.waiting`: decide whether enough recordings match a query (sensor and trigger);
* :mod:`.archive`: copy recordings to your own storage, verified (also the purge's
  ``archive_path``); :mod:`.playback` builds and checks the File playback document.

Each holds its settings, its pure decisions and ``run(client, settings)``. The operators only
adapt Airflow arguments to settings, call ``run`` and log. :mod:`.deletion` is what the purge
and the erasure share: deleting in groups with a manifest and a durable record.
"""
