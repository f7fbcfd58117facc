"""The in-memory host engine (``POSKIT_HOST_ENGINE=memory``): decide in memory, persist in batches."""
