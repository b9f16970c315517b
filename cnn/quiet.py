"""Keep TensorFlow's start-up log off the terminal unless the user asks for it (TensorFlow is imported here
only inside :func:`import_tensorflow_quietly`)."""

import os
import sys

LOG_LEVEL = "TF_CPP_MIN_LOG_LEVEL"


def import_tensorflow_quietly():
    """Import TensorFlow and Keras for a command-line program, without their log noise.

    On a good run TensorFlow 2.21 on a CPU prints "oneDNN custom operations
    are on" twice at import (absl logging, before any log level applies) and
    an error-level "remapper failed" line at the first training step.  Unless
    the user set ``TF_CPP_MIN_LOG_LEVEL`` (then nothing is changed: set it to
    0 to see everything), this sets it to 3 (no C++ log below FATAL) and
    sends file descriptor 2 to ``/dev/null`` while the modules load.  Python
    exceptions raised by the import still reach the terminal: they are printed
    after descriptor 2 is restored.  Call it before anything imports TensorFlow.

    Returns
    -------
    bool
        True if the log was silenced, False if the user's ``TF_CPP_MIN_LOG_LEVEL`` was kept.
    """
    if LOG_LEVEL in os.environ:
        import keras
        return False
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
    return True
