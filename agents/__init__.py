"""The Faust worker: agents, web views and metrics around the pure core in ``state``."""
