"""The errors voicelab raises. Each message names the file (if any) and what to do next."""


class VoicelabError(Exception):
    """Base class of every voicelab error."""


class AudioError(VoicelabError, ValueError):
    """Audio that cannot be used: missing, empty, not audio, corrupt, silent, NaN/inf or too short.

    Introduced in notebook 00. The message always names the file (when there is one)
    and says what to do about it.
    """


class UnsafeModelError(VoicelabError, ValueError):
    """A model file that could only be opened by running code stored inside it (a full pickle).

    Introduced in notebook 00; ``voicelab.core.hub.load_weights`` raises it and runs nothing.
    """


class HubOfflineError(VoicelabError, RuntimeError):
    """A download was needed while offline (QUICK mode or ``HF_HUB_OFFLINE=1``) and nothing was cached."""


class ChecksumError(VoicelabError, ValueError):
    """A downloaded or cached file does not match its known SHA-256."""
