"""User mistakes, told apart from bugs.

A :class:`UserError` is a mistake in what the user handed us (a config path, a key, a dataset
root, an image, a checkpoint, an argument). Its message is one line that names the file, key or
argument and says what to do. The tools catch it at the top level, print that line and exit with
code 2 (``--debug`` shows the traceback instead); any other exception is a bug and keeps its
traceback. Each class also derives from the built-in exception it refines, so callers that catch
``FileNotFoundError`` / ``KeyError`` / ``ValueError`` keep working.
"""


class UserError(Exception):
    """A mistake in the user's input: one clear line, exit code 2 in the tools."""

    exit_code = 2

    def __str__(self) -> str:  # KeyError would quote its message
        return str(self.args[0]) if self.args else ''


class ConfigError(UserError, KeyError):
    """Config file or override: missing file, unknown key, bad value."""


class DataError(UserError, ValueError):
    """Dataset root, split, image, depth or caption that is missing, corrupt or unusable."""


class MissingFileError(UserError, FileNotFoundError):
    """A file or folder the user named (or the config points to) does not exist."""


class CheckpointError(UserError, RuntimeError):
    """A checkpoint that is missing, empty, torn, unsafe or from another model."""


class ArgumentError(UserError, ValueError):
    """A command-line argument that cannot be used as given."""


class MissingCheckpointError(CheckpointError, MissingFileError):
    """A checkpoint path that does not exist (both a checkpoint and a missing-file error)."""


class PretrainedWeightsError(CheckpointError):
    """Pretrained weights of a component (a hub id, a tag, a local copy) that cannot be loaded:
    the message names the source, the cache looked in and how to point at a local copy."""


class DatasetNotPreparedError(DataError):
    """Dataset roots, split files or caption folders of a config that are missing.

    ``problems`` holds one dict per dataset (``name``, ``root``, ``missing``, ``command``), so
    callers can inspect what the one message lists.
    """

    def __init__(self, message: str, problems=()) -> None:
        super().__init__(message)
        self.problems = list(problems)


class TrainingInterrupted(BaseException):
    """Not an error: training stopped on a signal (SIGTERM) after saving a checkpoint.

    A ``BaseException``, like ``KeyboardInterrupt``, so that code catching ``Exception`` (an
    ablation grid going on after one failed run) does not swallow it: the whole command stops.
    The tools print its one line (from rank 0) and exit with code 0 (:func:`tr2m.utils.cli.run`).

    Attributes:
        signal_name (str): e.g. ``'SIGTERM'``.
        checkpoint (str): the checkpoint saved (or already saved at that step).
        iteration (int): iterations done.
        report (bool): whether this process prints the line (rank 0).
    """

    exit_code = 0

    def __init__(self, message: str, signal_name: str = 'SIGTERM', checkpoint: str = '',
                 iteration: int = 0, report: bool = True) -> None:
        super().__init__(message)
        self.signal_name, self.checkpoint, self.iteration = signal_name, checkpoint, iteration
        self.report = report


__all__ = ['TrainingInterrupted', 'UserError', 'ConfigError', 'DataError', 'MissingFileError',
           'CheckpointError', 'ArgumentError', 'MissingCheckpointError', 'DatasetNotPreparedError',
           'PretrainedWeightsError']
