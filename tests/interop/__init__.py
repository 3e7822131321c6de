"""The JavaScript side of the interop tests (ocpp-rpc) and the Python that runs it."""
