"""What the tests share: plain helper modules, imported as ``tests.support.<module>``, and one pytest plugin.

* :mod:`tests.support.project`: where things are (the project, ``../shared``, the DAG folders), the test key;
* :mod:`tests.support.servers`: the loopback HTTP server every purpose-built test server runs on, and those
  servers (a media source that records uploads, a header recorder, a connection dropper);
* :mod:`tests.support.tasks`: Livepeer task JSON and request bodies, built in one place;
* :mod:`tests.support.emulator_api`: a schema-checking client of the emulator's API, streams, sample media;
* :mod:`tests.support.airflow`: what differs between Airflow versions, and what tests read back from Airflow;
* :mod:`tests.support.running`: provider pieces run outside Airflow (a task-instance stand-in, triggers);
* :mod:`tests.support.schema`: Livepeer's OpenAPI document as a validator;
* :mod:`tests.support.doc_blocks`: the documentation's code blocks, run as a reader would;
* :mod:`tests.support.fixtures`: the fixtures every test folder may use, registered by ``tests/conftest.py``
  through ``pytest_plugins`` (the conftest modules hold fixtures and hooks only; nothing imports them).

Nothing here changes the process on import: ``tests/conftest.py`` sets up Airflow's environment, so that
a subprocess (``python -m tests.system.run_dag``) can import these modules without a new AIRFLOW_HOME.
"""
