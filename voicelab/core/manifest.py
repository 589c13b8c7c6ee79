"""The manifest: every file voicelab can download, as its public repository publishes it.

Introduced in notebook 00, with :mod:`voicelab.core.hub` (which re-exports it as
``hub.MANIFEST``). One :class:`Entry` per repository or URL: where it is, which revision, the
files the code needs (name, format, size as published), the licence, and the evidence for the
file names (a public page or file that shows them). The rest of the package builds its
:class:`~voicelab.core.hub.Asset` values from here (:func:`voicelab.core.hub.asset`), so

* a loader can only be handed files listed here (a Hub snapshot downloads exactly these paths);
* every stand-in, tiny (QUICK) or full-size (the FULL rehearsal), is checked against its entry
  when it is written (:func:`check_folder`): an unlisted file, a missing one or a file in
  another format than the real repository's stops it with a message. A stand-in in a format
  the real repository does not publish cannot be written.

Sizes are the published ones in bytes, rounded (``None`` where no public page gives one);
they are documentation, not checks, except for ``float32`` files whose size is their shape.
"""
from __future__ import annotations

import fnmatch
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["File", "Entry", "MANIFEST", "FORMATS", "entry", "check_file", "check_folder",
           "ManifestError"]

MB = 1_000_000


class ManifestError(ValueError):
    """A file set (a stand-in, a download) does not match what the manifest says is published."""


@dataclass(frozen=True)
class File:
    """One published file: ``path`` inside the repository (a glob for many alike), its format,
    its size in bytes (``None``: not known from a public page), and whether the code needs it."""

    path: str
    format: str
    size: int | None = None
    required: bool = True

    def __post_init__(self):
        if self.format not in FORMATS:
            raise ValueError(f"{self.path}: unknown format {self.format!r} (one of {sorted(FORMATS)}).")


@dataclass(frozen=True)
class Entry:
    """A repository (``repo_id``, ``kind`` "model" or "dataset") or a ``url``, as published."""

    name: str
    files: tuple[File, ...]
    licence: str
    evidence: tuple[str, ...]
    used_in: tuple[str, ...]
    repo_id: str | None = None
    kind: str = "model"
    url: str | None = None
    revision: str | None = None
    note: str = ""

    @property
    def source(self) -> str:
        return self.url or f"https://huggingface.co/{'datasets/' if self.kind == 'dataset' else ''}{self.repo_id}"

    def file(self, path: str) -> File | None:
        """The entry's :class:`File` that ``path`` (relative, with ``/``) is, or None."""
        return next((f for f in self.files if fnmatch.fnmatchcase(path, f.path)), None)


# ---------------------------------------------------------------------------- formats


def _is_safetensors(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(9)
    if len(head) < 9:
        return False
    n = int.from_bytes(head[:8], "little")
    return head[8:9] == b"{" and 0 < n < path.stat().st_size


def _is_torch_zip(path: Path) -> bool:
    """``torch.save``'s zip format (what ``torch.load(weights_only=True)`` reads)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as z:
        return any(n.endswith("/data.pkl") or n == "data.pkl" for n in z.namelist())


def _is_json(path: Path) -> bool:
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError):
        return False
    return True


def _is_text(path: Path) -> bool:
    try:
        path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _is_yaml(path: Path) -> bool:
    import yaml

    try:
        yaml.safe_load(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError):
        return False
    return True


def _is_sentencepiece(path: Path) -> bool:
    import sentencepiece as spm

    try:
        return spm.SentencePieceProcessor(model_file=str(path)).get_piece_size() > 0
    except (OSError, RuntimeError):
        return False


def _starts(magic: bytes):
    def check(path: Path) -> bool:
        with open(path, "rb") as f:
            return f.read(len(magic)) == magic
    return check


def _is_float32(path: Path) -> bool:
    return path.stat().st_size % 4 == 0 and path.stat().st_size > 0


def _is_wav(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(12)
    return head[:4] == b"RIFF" and head[8:12] == b"WAVE"


def _is_faiss(path: Path) -> bool:
    with open(path, "rb") as f:
        fourcc = f.read(4)
    return len(fourcc) == 4 and fourcc[:1] == b"I" and fourcc.isalnum()


#: Format name -> a check that reads (never runs) a file's first bytes or parses it.
FORMATS = {
    "safetensors": _is_safetensors,
    "torch-zip": _is_torch_zip,
    "json": _is_json,
    "text": _is_text,
    "yaml": _is_yaml,
    "sentencepiece": _is_sentencepiece,
    "npy": _starts(b"\x93NUMPY"),
    "float32": _is_float32,
    "wav": _is_wav,
    "faiss-index": _is_faiss,
}


def check_file(entry: Entry, path: Path, rel: str) -> None:
    """Raise :class:`ManifestError` unless ``path`` is the listed file ``rel`` of ``entry``, in its format."""
    listed = entry.file(rel)
    if listed is None:
        raise ManifestError(
            f"{entry.name}: {rel} is not a file the manifest lists for {entry.source} "
            f"(listed: {', '.join(f.path for f in entry.files)}).")
    if not FORMATS[listed.format](path):
        raise ManifestError(
            f"{entry.name}: {rel} is not in the format {entry.source} publishes it in "
            f"({listed.format}).")
    if listed.format == "float32" and listed.size and path.stat().st_size != listed.size:
        raise ManifestError(f"{entry.name}: {rel} has {path.stat().st_size} bytes; the published "
                            f"file has {listed.size}.")


def check_folder(entry: Entry, folder: Path, ignore: tuple[str, ...] = ()) -> None:
    """Check a folder meant to hold ``entry``'s files: nothing unlisted, nothing required missing,
    each in its published format. ``ignore``: names to skip (e.g. a stand-in's marker)."""
    present = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                     if p.is_file() and p.name not in ignore)
    for rel in present:
        check_file(entry, folder / rel, rel)
    missing = [f.path for f in entry.files
               if f.required and not any(fnmatch.fnmatchcase(rel, f.path) for rel in present)]
    if missing:
        raise ManifestError(f"{entry.name}: {', '.join(missing)} missing; {entry.source} "
                            "publishes it and the code needs it.")


def entry(name: str) -> Entry:
    """The manifest's entry ``name`` (KeyError naming the known ones otherwise)."""
    try:
        return MANIFEST[name]
    except KeyError:
        raise KeyError(f"{name!r} is not in voicelab's manifest ({', '.join(sorted(MANIFEST))}).") from None


# ---------------------------------------------------------------------------- the entries

_ENTRIES = [
    # ------------------------------------------------------------- notebook 01
    Entry(
        "smollm2-360m-instruct", repo_id="HuggingFaceTB/SmolLM2-360M-Instruct",
        files=(File("config.json", "json"), File("generation_config.json", "json"),
               File("model.safetensors", "safetensors", 724 * MB),
               File("tokenizer.json", "json"), File("tokenizer_config.json", "json"),
               File("special_tokens_map.json", "json"), File("vocab.json", "json"),
               File("merges.txt", "text")),
        licence="Apache-2.0", used_in=("01",),
        evidence=("https://huggingface.co/HuggingFaceTB/SmolLM2-360M-Instruct/tree/main",)),
    # ------------------------------------------------------------- notebook 06
    Entry(
        "glove-6B-300d", repo_id="sentence-transformers/average_word_embeddings_glove.6B.300d",
        files=(File("0_WordEmbeddings/whitespacetokenizer_config.json", "json"),
               File("0_WordEmbeddings/pytorch_model.bin", "torch-zip", 480 * MB)),
        licence="Apache-2.0 (the repository); GloVe vectors: ODC-PDDL",
        used_in=("06",),
        evidence=("https://huggingface.co/sentence-transformers/average_word_embeddings_glove.6B.300d/tree/main/0_WordEmbeddings",)),
    Entry(
        "clap-htsat-unfused", repo_id="laion/clap-htsat-unfused",
        files=(File("config.json", "json"), File("preprocessor_config.json", "json"),
               File("pytorch_model.bin", "torch-zip", 615 * MB),
               File("tokenizer.json", "json"), File("tokenizer_config.json", "json"),
               File("special_tokens_map.json", "json"), File("vocab.json", "json"),
               File("merges.txt", "text")),
        licence="Apache-2.0", used_in=("06",),
        evidence=("https://huggingface.co/laion/clap-htsat-unfused/tree/main",)),
    # ------------------------------------------------------------- notebook 07
    Entry(
        "speecht5-tts", repo_id="microsoft/speecht5_tts",
        files=(File("config.json", "json"), File("preprocessor_config.json", "json"),
               File("pytorch_model.bin", "torch-zip", 585 * MB),
               File("spm_char.model", "sentencepiece"), File("tokenizer_config.json", "json"),
               File("special_tokens_map.json", "json"), File("added_tokens.json", "json")),
        licence="MIT", used_in=("07",),
        evidence=("https://huggingface.co/microsoft/speecht5_tts/tree/main",)),
    Entry(
        "speecht5-hifigan", repo_id="microsoft/speecht5_hifigan",
        files=(File("config.json", "json"), File("pytorch_model.bin", "torch-zip", 50 * MB)),
        licence="MIT", used_in=("07",),
        evidence=("https://huggingface.co/microsoft/speecht5_hifigan/tree/main",)),
    Entry(
        "xvector-slt",
        url="https://huggingface.co/datasets/Xenova/cmu-arctic-xvectors-extracted/resolve/main/"
            "cmu_us_slt_arctic-wav-arctic_a0001.bin",
        files=(File("cmu_us_slt_arctic-wav-arctic_a0001.bin", "float32", 2048),),
        licence="MIT (x-vectors of CMU ARCTIC, free licence)", used_in=("07",),
        evidence=("transformers.js example (Xenova): BASE_URL datasets/Xenova/cmu-arctic-xvectors-"
                  "extracted/resolve/main/ + '<speaker_id>.bin', 512 float32, default speaker "
                  "cmu_us_slt_arctic-wav-arctic_a0001",)),
    Entry(
        "mms-tts-eng", repo_id="facebook/mms-tts-eng",
        files=(File("config.json", "json"), File("model.safetensors", "safetensors", 145 * MB),
               File("tokenizer_config.json", "json"), File("special_tokens_map.json", "json"),
               File("vocab.json", "json")),
        licence="CC-BY-NC-4.0 (non-commercial use only)", used_in=("07",),
        evidence=("https://huggingface.co/facebook/mms-tts-eng/tree/main",)),
    Entry(
        "bark-small", repo_id="suno/bark-small",
        files=(File("config.json", "json"), File("generation_config.json", "json"),
               File("pytorch_model.bin", "torch-zip", 1680 * MB),
               File("tokenizer.json", "json"), File("tokenizer_config.json", "json"),
               File("special_tokens_map.json", "json"), File("vocab.txt", "text"),
               File("speaker_embeddings_path.json", "json"),
               File("speaker_embeddings/v2/en_speaker_*_prompt.npy", "npy")),
        licence="MIT", used_in=("07",),
        evidence=("https://huggingface.co/suno/bark-small/tree/main",)),
    # ------------------------------------------------------------- notebook 12
    Entry(
        "musicgen-small", repo_id="facebook/musicgen-small",
        files=(File("config.json", "json"), File("generation_config.json", "json"),
               File("preprocessor_config.json", "json"),
               File("model.safetensors", "safetensors", 2364 * MB),
               File("spiece.model", "sentencepiece"), File("tokenizer.json", "json"),
               File("tokenizer_config.json", "json"), File("special_tokens_map.json", "json")),
        licence="CC-BY-NC-4.0 (non-commercial use only)", used_in=("12",),
        evidence=("https://huggingface.co/facebook/musicgen-small/tree/main",
                  "a public download script (GitHub, found with find_string "
                  "'musicgen-small/resolve') fetching config.json generation_config.json "
                  "preprocessor_config.json special_tokens_map.json tokenizer.json "
                  "tokenizer_config.json spiece.model model.safetensors (~2.2 GB) state_dict.bin "
                  "compression_state_dict.bin from facebook/musicgen-small/resolve/main",
                  "huggingface/transformers: src/transformers/models/musicgen/"
                  "convert_musicgen_transformers.py (model + MusicgenProcessor(EncodecFeature"
                  "Extractor, t5-base tokenizer) pushed to the Hub)"),
        note="591M parameters in float32. The repository also holds pytorch_model.bin (the same "
             "weights; several public scripts download it) and audiocraft's state_dict.bin + "
             "compression_state_dict.bin; the transformers loader needs none of them, so they are "
             "not listed (a snapshot would download gigabytes more)."),
    Entry(
        "musicgen-melody", repo_id="facebook/musicgen-melody",
        files=(File("config.json", "json"), File("generation_config.json", "json"),
               File("preprocessor_config.json", "json"),
               File("model-00001-of-00002.safetensors", "safetensors"),
               File("model-00002-of-00002.safetensors", "safetensors"),
               File("model.safetensors.index.json", "json"),
               File("model.safetensors", "safetensors", 6240 * MB, required=False),
               File("spiece.model", "sentencepiece"), File("tokenizer.json", "json"),
               File("tokenizer_config.json", "json"), File("special_tokens_map.json", "json")),
        licence="CC-BY-NC-4.0 (non-commercial use only)", used_in=("12",),
        evidence=("https://huggingface.co/facebook/musicgen-melody/tree/main",
                  "huggingface/transformers: src/transformers/models/musicgen_melody/"
                  "convert_musicgen_melody_transformers.py (model.push_to_hub(repo_id) and "
                  "processor.push_to_hub: MusicgenMelodyFeatureExtractor + t5-base tokenizer)",
                  "huggingface/transformers PR #28819 (Feb 2024: the checkpoint uploaded to the "
                  "facebook organisation with that script); push_to_hub then defaulted to "
                  "max_shard_size='5GB' and safe_serialization=True (its docstring in "
                  "transformers' utils/hub.py of that time)"),
        note="1.56B parameters in float32, about 6.24 GB: over push_to_hub's 5 GB shard limit, so "
             "published as two safetensors shards (under 5 GB and about 1.2 GB) with "
             "model.safetensors.index.json. That is inferred from the conversion script and the "
             "default, not read off the file listing (no copy of the listing was found offline). "
             "model.safetensors is listed as optional so that a snapshot still gets the weights "
             "if the repository holds them in one file. The repository also holds audiocraft's "
             "state_dict.bin + compression_state_dict.bin (not needed, not listed)."),
    # ------------------------------------------------------------- notebook 14
    Entry(
        "resnet-18", repo_id="microsoft/resnet-18",
        files=(File("config.json", "json"), File("model.safetensors", "safetensors", 47 * MB)),
        licence="Apache-2.0 (weights trained on ImageNet-1k)", used_in=("14",),
        evidence=("https://huggingface.co/microsoft/resnet-18/tree/main",)),
    # ------------------------------------------------------------- notebooks 08-11
    Entry(
        "ljspeech", kind="dataset", repo_id="flexthink/ljspeech",
        revision="7367bcc33648be329bbef057cc97d0b83cadee11",
        files=(File("wavs/LJ00?-????.wav", "wav"),),
        licence="public domain (LJ Speech)", used_in=("08",),
        evidence=("https://huggingface.co/datasets/flexthink/ljspeech/tree/main/wavs",)),
    Entry(
        "contentvec", repo_id="lengyue233/content-vec-best",
        files=(File("config.json", "json"), File("pytorch_model.bin", "torch-zip", 378 * MB)),
        licence="MIT", used_in=("09", "10", "11"),
        evidence=("https://huggingface.co/lengyue233/content-vec-best/tree/main",
                  "so-vits-svc-fork: src/so_vits_svc_fork/utils.py get_hubert_model "
                  "(HubertModelWithFinalProj.from_pretrained('lengyue233/content-vec-best'))")),
    Entry(
        "so-vits-svc-G0",
        url="https://huggingface.co/datasets/ms903/sovits4.0-768vec-layer12/resolve/main/"
            "sovits_768l12_pre_large_320k/clean_G_320000.pth",
        files=(File("G_0.pth", "torch-zip", 549 * MB),),
        licence="unspecified (so-vits-svc 4.0 pretrained base)", used_in=("09",),
        evidence=("so-vits-svc-fork: src/so_vits_svc_fork/utils.py download_pretrained_model",)),
    Entry(
        "so-vits-svc-D0",
        url="https://huggingface.co/datasets/ms903/sovits4.0-768vec-layer12/resolve/main/"
            "sovits_768l12_pre_large_320k/clean_D_320000.pth",
        files=(File("D_0.pth", "torch-zip", 561 * MB),),
        licence="unspecified (so-vits-svc 4.0 pretrained base)", used_in=("09",),
        evidence=("so-vits-svc-fork: src/so_vits_svc_fork/utils.py download_pretrained_model",)),
    Entry(
        "svc-Entreprenerdly--drake-so-vits-svc", repo_id="Entreprenerdly/drake-so-vits-svc",
        files=(File("config.json", "json"), File("G_106000.pth", "torch-zip")),
        licence="unspecified; imitates a real artist's voice: for learning inference only, "
                "never to publish", used_in=("10",),
        evidence=("https://huggingface.co/Entreprenerdly/drake-so-vits-svc/tree/main",)),
    Entry(
        "rvc-sail-rvc--yoimiya-jp", repo_id="sail-rvc/yoimiya-jp",
        files=(File("model.pth", "torch-zip", 55 * MB), File("model.index", "faiss-index")),
        licence="unspecified; imitates a voice actor: for learning inference only",
        used_in=("11",),
        evidence=("https://huggingface.co/sail-rvc/yoimiya-jp/tree/main",)),
    Entry(
        "rvc-rmvpe", repo_id="lj1995/VoiceConversionWebUI",
        files=(File("rmvpe.pt", "torch-zip", 181 * MB),),
        licence="MIT", used_in=("11",),
        evidence=("https://huggingface.co/lj1995/VoiceConversionWebUI/tree/main",
                  "RVC: tools/download_models.py (rmvpe.pt from lj1995/VoiceConversionWebUI)")),
    Entry(
        "demucs-htdemucs", repo_id="adefossez/HTDemucs",
        files=(File("htdemucs.yaml", "yaml"), File("*.safetensors", "safetensors")),
        licence="MIT", used_in=("08",),
        evidence=(),
        note="unverified: demucs 4 downloads its weights from dl.fbaipublicfiles.com"),
]

#: Every external asset by name (see the module docstring).
MANIFEST: dict[str, Entry] = {e.name: e for e in _ENTRIES}
