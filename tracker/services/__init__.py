"""The services layer: what happens to the data, with I/O (the store, the network, the clock).

Services are called by handlers and the CLI; they use the pure ``tracker.domain`` for every
decision and the ``tracker.store`` for every read and write.
"""
