"""Every error voicelab raises, in one place. Messages name the file (if any) and what to do next.

All are :class:`VoicelabError`, so a caller (the ``voicelab`` command) can catch voicelab's
errors and let bugs through. Each also derives from the built-in error it refines
(``ValueError``, ``FileNotFoundError``, ``KeyError``, ...), so ``except ValueError`` keeps
working. The general ones come first, then one section per layer, each class with the
module that raises it; modules raise them under their own names too (``tts.TTSError``).
"""


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


class MissingFileError(VoicelabError, FileNotFoundError):
    """A file or folder voicelab needs is not there; the message names it and how to make it."""


class UnknownSpeakerError(VoicelabError, KeyError):
    """A speaker name that is not among those available; the message lists the ones that are.

    A ``KeyError`` too, for code written when that was what was raised; unlike a plain
    ``KeyError`` its text is the message itself, not the message in quotes.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


# ---------------------------------------------------------------------------- core


# raised in voicelab.core.hub
class ModelFileError(VoicelabError, ValueError):
    """A weights file that is empty, damaged, or not a model at all (text, random bytes, ...)."""


class ManifestError(VoicelabError, ValueError):
    """Files (a stand-in, a download) that are not what the manifest says the repository publishes."""


# raised in voicelab.core.hub
class ModelFileNotFoundError(ModelFileError, MissingFileError):
    """A weights file that does not exist."""


# raised in voicelab.core.hub
class DownloadError(VoicelabError, OSError):
    """A download that was allowed (online) but failed: no connection, bad URL, HTTP error."""


# ---------------------------------------------------------------------------- audio


# raised in voicelab.audio.spectral
class SpectralError(VoicelabError, ValueError):
    """A waveform or setting the spectral functions cannot use (says what and what to do)."""


# ---------------------------------------------------------------------------- data


# raised in voicelab.data.speech
class SynthesisError(VoicelabError, RuntimeError):
    """The offline speech program is missing or failed."""


# raised in voicelab.data.synthetic
class DevDataError(VoicelabError, ValueError):
    """A request for a data set that cannot be made (unknown speaker, empty list, bad size)."""


# ---------------------------------------------------------------------------- lessons


# raised in voicelab.lessons.acoustic
class AcousticError(VoicelabError, ValueError):
    """Training data or inputs the acoustic model cannot use."""


# raised in voicelab.lessons.diffusion
class DiffusionError(VoicelabError, ValueError):
    """A schedule, step number or input a diffusion model cannot use."""


# raised in voicelab.lessons.embeddings
class EmbeddingError(VoicelabError, ValueError):
    """A word that is not in the vocabulary, too little data, or inputs of the wrong shape."""


# raised in voicelab.lessons.gan
class GANError(VoicelabError, ValueError):
    """Settings or data a GAN cannot train with."""


# raised in voicelab.lessons.generative_vs_discriminative
class ModelNotFittedError(VoicelabError, RuntimeError):
    """A model was asked to sample or predict before it was fitted."""


# raised in voicelab.lessons.music
class MusicError(VoicelabError, ValueError):
    """A note, tune or setting that cannot be used (says which and what to do)."""


# raised in voicelab.lessons.sample_judge
class JudgeError(VoicelabError, ValueError):
    """Images the judge cannot score (wrong shape, too few, NaN)."""


# raised in voicelab.lessons.ssml
class SSMLError(VoicelabError, ValueError):
    """SSML that is malformed or uses something this renderer does not support."""


# raised in voicelab.lessons.text
class TextError(VoicelabError, ValueError):
    """Text that cannot be normalised or spoken (empty, too long, unknown script, ...)."""


# raised in voicelab.lessons.tts
class TTSError(VoicelabError, ValueError):
    """A text-to-speech request that cannot be carried out (empty text, bad setting, missing program)."""


# ---------------------------------------------------------------------------- the voice pipeline


# raised in voicelab.voice.baseline
class BaselineError(VoicelabError, ValueError):
    """Training data or a saved baseline that cannot be used (says which file and what to do)."""


# raised in voicelab.voice.dataset
class DatasetError(VoicelabError, ValueError):
    """A data set that cannot be built or cannot be trained on. Introduced in notebook 08.

    The message says what is wrong (with the folder or file) and what to do next.
    """


# raised in voicelab.voice.metrics
class ScoreError(VoicelabError, ValueError):
    """Inputs the score card cannot use (no target references, a broken model install, ...)."""


# raised in voicelab.voice.rvc
class RVCError(VoicelabError, ValueError):
    """A file or folder that is not a usable RVC model (wrong kind of checkpoint, no weights)."""


# raised in voicelab.voice.separate
class SeparationError(VoicelabError, RuntimeError):
    """A separation model that cannot be used: package missing, weights missing or untrained.

    Introduced in notebook 08. The message says what is missing and how to get it.
    """


# raised in voicelab.voice.share
class ShareError(VoicelabError, ValueError):
    """A folder or request that cannot be shared as asked (no consent statement, no opt-in, ...)."""


# raised in voicelab.voice.svc
class TrainError(VoicelabError, RuntimeError):
    """Training cannot start or continue (existing checkpoints, nothing prepared, ...)."""


class CheckpointWarning(UserWarning):
    """Training set aside a checkpoint it could not read and resumed from an older one."""


class TrainWarning(UserWarning):
    """Training changed a setting to carry on (a smaller batch after running out of GPU memory)."""


# ---------------------------------------------------------------------------- the dev book


# raised in voicelab.devbook.models
class ModelShapeError(VoicelabError, ValueError):
    """An input whose shape or values a model cannot take (wrong rank, size or token id)."""


# raised in voicelab.devbook.recipe
class ConfigError(VoicelabError, ValueError):
    """A training configuration with an unknown key or a value out of range."""


# raised in voicelab.devbook.recipe
class CheckpointError(VoicelabError, ValueError):
    """A checkpoint folder that belongs to another run, or a checkpoint that does not fit."""
