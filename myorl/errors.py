"""The one exception type users see: a problem and its fix, printed as one line without a traceback."""


class MyorlError(Exception):
    """Bad input or an unrecoverable fault; `str(err)` names the problem and the fix."""
