"""pytest plugin: the realtime_server fixture. Filled by the harness issue."""
