"""Repository conftest: nothing here — the fixtures come from the installed plugin
(``evrig.fixtures.plugin`` through the ``pytest11`` entry point), exactly as in a user's
own test repository."""
