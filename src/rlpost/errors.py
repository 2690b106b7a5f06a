"""User-facing error types: the CLI prints these as one line (no traceback unless RLPOST_DEBUG=1)."""


class UserError(Exception):
    """Bad input from the user (config, data file, model path). The message names the key, file or row."""


class ConfigError(UserError):
    """A config value is invalid or inconsistent; the message names the config key."""


class DataError(UserError):
    """A dataset file or row is unusable; the message names the file and line/row."""


class StorageError(UserError):
    """The disk (or quota) under the run directory is full; the message names the directory and what is kept."""
