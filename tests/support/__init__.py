"""Helper servers for the tests: a loopback WebSocket server, a fault-injecting proxy,
a REST server, the soak server and test certificates."""
