"""The MPI grid search: cells and units, the problem contract, chains, the engine, the journal, the search,
the run behind ``pisvm-grid`` and the timing replay.  It imports the layers below it only."""
