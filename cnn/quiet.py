"""Keep TensorFlow's start-up log off the terminal (TensorFlow is imported here only inside
:func:`import_tensorflow_quietly`)."""

import os
import sys

LOG_LEVEL = "TF_CPP_MIN_LOG_LEVEL"


def import_tensorflow_quietly():
    """Import TensorFlow and Keras for a command-line program, without their start-up log.

    On a good run TensorFlow 2.21 on a CPU prints "oneDNN custom operations
    are on" twice at import (absl logging, before any log level applies),
    more with ``TF_CPP_MIN_LOG_LEVEL=0``, and an error-level "remapper failed"
    line at the first training step.  File descriptor 2 goes to
    ``/dev/null`` while the modules load, whatever ``TF_CPP_MIN_LOG_LEVEL``
    is; unless the user set that variable (then it is kept, and applies to
    the log after the import), this sets it to 3 (no C++ log below FATAL).
    Python exceptions raised by the import still reach the terminal: they
    are printed after descriptor 2 is restored.  Call it before anything
    imports TensorFlow.

    Returns
    -------
    bool
        True if this set ``TF_CPP_MIN_LOG_LEVEL``, False if the user's value was kept.
    """
    chosen = LOG_LEVEL not in os.environ
    if chosen:
        os.environ[LOG_LEVEL] = "3"
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as sink:
            os.dup2(sink.fileno(), 2)
            import keras  # noqa: F401 (imports TensorFlow: its start-up log goes to /dev/null)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return chosen
