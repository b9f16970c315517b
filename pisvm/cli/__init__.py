"""Console scripts of the suite; each module's ``main`` is one command."""
