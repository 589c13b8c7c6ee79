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

from .errors import ManifestError

__all__ = ["File", "Entry", "MANIFEST", "FORMATS", "entry", "check_file", "check_folder",
           "table", "ManifestError"]

MB = 1_000_000


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


def _size(entry: Entry) -> str:
    known = [f.size for f in entry.files if f.size]
    if not known:
        return "?"
    total = sum(known)
    text = f"{total / 1e9:.1f} GB" if total >= 1e9 else f"{total / 1e6:.0f} MB" if total >= 1e6 \
        else f"{total} B"
    return text + ("+" if len(known) < len(entry.files) else "")


def table(entries=None) -> list[str]:
    """The manifest as Markdown table lines: asset, source, size, licence, notebooks
    (``voicelab assets`` prints it; README's "What the course downloads" is this table)."""
    entries = list(MANIFEST.values()) if entries is None else list(entries)
    lines = ["| asset | from | size | licence | notebooks |", "|---|---|---|---|---|"]
    for e in entries:
        lines.append(f"| `{e.name}` | {e.source} | {_size(e)} | {e.licence} | "
                     f"{', '.join(e.used_in)} |")
    return lines


# ---------------------------------------------------------------------------- the entries

_ENTRIES = [
    # ------------------------------------------------------------- notebook 01
    Entry(
        "smollm2-360m-instruct", repo_id="HuggingFaceTB/SmolLM2-360M-Instruct",
        files=(File("config.json", "json", 846), File("generation_config.json", "json", 132,
                                                      required=False),
               File("model.safetensors", "safetensors", 724 * MB),
               File("tokenizer.json", "json", 2_104_556),
               File("tokenizer_config.json", "json", 3_764),   # holds the chat template
               File("special_tokens_map.json", "json", 655, required=False),
               File("vocab.json", "json", required=False), File("merges.txt", "text", required=False)),
        licence="Apache-2.0", used_in=("01",),
        evidence=("https://huggingface.co/HuggingFaceTB/SmolLM2-360M-Instruct/tree/main",
                  "GitHub code: fetch-reword-models.ts pins config.json (846 B), "
                  "generation_config.json (132 B), special_tokens_map.json (655 B), tokenizer.json "
                  "(2,104,556 B), tokenizer_config.json (3,764 B) from "
                  "HuggingFaceTB/SmolLM2-360M-Instruct/resolve/main/",
                  "GitHub code: ModelDownloadUrls tests list .../SmolLM2-360M-Instruct/resolve/main/"
                  "model.safetensors and config.json; a C++ loader downloads .../merges.txt and vocab.json",
                  "GitHub code: MODELS_INFO 'smollm2-md' = .../SmolLM2-360M-Instruct/resolve/main/"
                  "model.safetensors, 32 hidden layers"),
        note="No chat_template.jinja: no public file names one for this repository, and the 2024 "
             "tokenizer_config.json (3,764 B) holds the chat template. The fast tokenizer reads "
             "tokenizer.json; vocab.json and merges.txt are the slow tokenizer's copies."),
    # ------------------------------------------------------------- notebook 06
    Entry(
        "glove-6B-300d", repo_id="sentence-transformers/average_word_embeddings_glove.6B.300d",
        files=(File("0_WordEmbeddings/whitespacetokenizer_config.json", "json"),
               File("0_WordEmbeddings/model.safetensors", "safetensors", 480 * MB)),
        licence="Apache-2.0 (the repository); GloVe vectors: ODC-PDDL",
        used_in=("06",),
        evidence=("https://huggingface.co/sentence-transformers/average_word_embeddings_glove.6B.300d/tree/main/0_WordEmbeddings",
                  "GitHub code: pack_vectors.py curls .../average_word_embeddings_glove.6B.300d/"
                  "resolve/main/0_WordEmbeddings/whitespacetokenizer_config.json and byte range "
                  "128-36000127 of .../0_WordEmbeddings/model.safetensors (a 120-byte header, then "
                  "float32 rows of 300 in vocabulary order)",
                  "GitHub code: fetch-glove.mjs reads rows of .../0_WordEmbeddings/model.safetensors "
                  "by HTTP range (HDR = 8 + 120)",
                  "GitHub code: hf_hub_download(filename='0_WordEmbeddings/pytorch_model.bin') then "
                  "reads its 'emb_layer.weight' with torch's loader"),
        note="The folder publishes the matrix twice: model.safetensors (listed, what voicelab "
             "downloads) and pytorch_model.bin (the same 'emb_layer.weight', not listed so it is "
             "not downloaded too; load_glove(path=...) reads either)."),
    Entry(
        "clap-htsat-unfused", repo_id="laion/clap-htsat-unfused",
        files=(File("config.json", "json"), File("preprocessor_config.json", "json"),
               File("pytorch_model.bin", "torch-zip", 615 * MB),
               File("tokenizer.json", "json"), File("tokenizer_config.json", "json"),
               File("special_tokens_map.json", "json", required=False),
               File("vocab.json", "json", required=False),
               File("merges.txt", "text", required=False)),
        licence="Apache-2.0", used_in=("06",),
        evidence=("https://huggingface.co/laion/clap-htsat-unfused/tree/main",
                  "transformers: configuration_clap.py archive list (laion/clap-htsat-unfused/"
                  "resolve/main/config.json)",
                  "GitHub code (magda): MelConfig from https://huggingface.co/laion/"
                  "clap-htsat-unfused/blob/main/preprocessor_config.json"),
        note="Weights: no public file found that names pytorch_model.bin or model.safetensors in "
             "this repository; kept: pytorch_model.bin (~615 MB, float32 of ~153 M parameters; the "
             "repository dates from 2023, before safetensors became the default). transformers "
             "reads it with torch.load(weights_only=True). Tokenizer file names unverified "
             "(Xenova/clap-htsat-unfused, its ONNX copy, publishes vocab.json, merges.txt, "
             "tokenizer.json)."),
    # ------------------------------------------------------------- notebook 07
    Entry(
        "speecht5-tts", repo_id="microsoft/speecht5_tts",
        files=(File("config.json", "json"), File("preprocessor_config.json", "json"),
               File("pytorch_model.bin", "torch-zip", 585 * MB),
               File("spm_char.model", "sentencepiece"), File("tokenizer_config.json", "json"),
               File("special_tokens_map.json", "json"), File("added_tokens.json", "json")),
        licence="MIT", used_in=("07",),
        evidence=("https://huggingface.co/microsoft/speecht5_tts/tree/main",
                  "transformers (older releases): models/speecht5/tokenization_speecht5.py "
                  "PRETRAINED_VOCAB_FILES_MAP: speecht5_tts/resolve/main/spm_char.model",
                  "transformers: configuration_speecht5.py SPEECHT5_PRETRAINED_CONFIG_ARCHIVE_MAP: "
                  "speecht5_tts/resolve/main/config.json",
                  "public download scripts (GitHub code search 'speecht5_tts/resolve/main/"
                  "pytorch_model.bin', e.g. a PowerShell model fetcher and a Swift model catalogue) "
                  "fetch pytorch_model.bin from main"),
        note="Weights on main: pytorch_model.bin (every public download script found fetches it "
             "from main; none fetches a model.safetensors, which by the course's earlier reading "
             "exists only in the Hub bot's unmerged pull requests; the tree page itself could not "
             "be read offline): loaders must not ask for safetensors. The names of the tokenizer/processor JSON files follow the "
             "transformers 4.x layout of 2023. "
             "Full stand-in: transformers' default SpeechT5Config (the published checkpoint's "
             "architecture, ~144M parameters) with max_text_positions=600, "
             "max_speech_positions=1876 (the TTS checkpoint's, from memory of its config.json, "
             "not re-read here)."),
    Entry(
        "speecht5-hifigan", repo_id="microsoft/speecht5_hifigan",
        files=(File("config.json", "json"), File("pytorch_model.bin", "torch-zip", 50 * MB)),
        licence="MIT", used_in=("07",),
        evidence=("https://huggingface.co/microsoft/speecht5_hifigan/tree/main",
                  "transformers: configuration_speecht5.py SPEECHT5_PRETRAINED_HIFIGAN_CONFIG_ARCHIVE_MAP: "
                  "speecht5_hifigan/resolve/main/config.json; SpeechT5HifiGanConfig's docstring: "
                  "defaults are this checkpoint's architecture",
                  "Xenova/speecht5_hifigan (its ONNX export, onnx/model.onnx 55.4 MB) in "
                  "transformers.js download lists"),
        note="pytorch_model.bin on main (safetensors only in unmerged bot pull requests): the "
             "course's earlier reading, not re-verified; no public file found here lists this "
             "repository's weights file. Full stand-in: transformers' default SpeechT5HifiGanConfig."),
    Entry(
        "xvector-slt",
        url="https://huggingface.co/datasets/Xenova/cmu-arctic-xvectors-extracted/resolve/main/"
            "cmu_us_slt_arctic-wav-arctic_a0001.bin",
        files=(File("cmu_us_slt_arctic-wav-arctic_a0001.bin", "float32", 2048),),
        licence="MIT (x-vectors of CMU ARCTIC, free licence)", used_in=("07",),
        evidence=("transformers.js example text-to-speech-client (Xenova): worker.js BASE_URL "
                  "https://huggingface.co/datasets/Xenova/cmu-arctic-xvectors-extracted/resolve/main/ "
                  "+ '<speaker_id>.bin', read as new Float32Array(buffer) and used as a [1, 512] "
                  "tensor; default speaker cmu_us_slt_arctic-wav-arctic_a0001",
                  "GitHub code search 'cmu-arctic-xvectors-extracted': several apps fetch "
                  "cmu_us_<spk>_arctic-wav-arctic_a000N.bin from it as raw float32 "
                  "(\"Assume raw float32 binary (e.g. .bin from Xenova/cmu-arctic-xvectors-extracted)\")"),
        note="Raw little-endian float32, 512 values, no header: read with numpy.frombuffer, "
             "nothing to unpickle. The same file serves as tiny and full stand-in (random values)."),
    Entry(
        "mms-tts-eng", repo_id="facebook/mms-tts-eng",
        files=(File("config.json", "json"), File("model.safetensors", "safetensors", 145 * MB),
               File("tokenizer_config.json", "json"), File("special_tokens_map.json", "json"),
               File("vocab.json", "json")),
        licence="CC-BY-NC-4.0 (non-commercial use only)", used_in=("07",),
        evidence=("https://huggingface.co/facebook/mms-tts-eng/tree/main",
                  "public code: 'wget https://huggingface.co/facebook/mms-tts-eng/resolve/main/"
                  "model.safetensors' and '.../resolve/main/config.json' (GitHub code search "
                  "'mms-tts-eng/resolve/main/')",
                  "transformers: tokenization_vits.py PRETRAINED_VOCAB_FILES_MAP: "
                  "mms-tts-eng/resolve/main/vocab.json; VitsConfig's docstring: defaults are "
                  "this checkpoint's architecture",
                  "model card licence cc-by-nc-4.0 (e.g. https://gr.tbb.rip/models/facebook/mms-tts-eng)"),
        note="tokenizer_config.json and special_tokens_map.json: transformers' VitsTokenizer files "
             "(read by AutoTokenizer); not seen in a public listing here. Full stand-in: "
             "transformers' default VitsConfig."),
    Entry(
        "bark-small", repo_id="suno/bark-small",
        files=(File("config.json", "json"), File("generation_config.json", "json"),
               File("pytorch_model.bin", "torch-zip", 1680 * MB),
               File("tokenizer.json", "json"), File("tokenizer_config.json", "json"),
               File("special_tokens_map.json", "json"), File("vocab.txt", "text", required=False),
               File("speaker_embeddings_path.json", "json"),
               File("speaker_embeddings/v2/en_speaker_*_prompt.npy", "npy")),
        licence="MIT", used_in=("07",),
        evidence=("https://huggingface.co/suno/bark-small/tree/main",
                  "public prefetch script (GitHub code search 'speaker_embeddings_path.json'): "
                  "suno/bark-small revision 1dbd7a128513b8ae4a4e2130fed57b7ac9da5bcd runtime files "
                  "config.json, generation_config.json, pytorch_model.bin, speaker_embeddings/**, "
                  "speaker_embeddings_path.json, special_tokens_map.json, tokenizer.json, "
                  "tokenizer_config.json",
                  "public download scripts fetch https://huggingface.co/suno/bark-small/resolve/main/"
                  "pytorch_model.bin",
                  "transformers: models/bark/processing_bark.py (speaker_embeddings_path.json maps "
                  "'v2/en_speaker_N' to speaker_embeddings/v2/en_speaker_N_{semantic,coarse,fine}"
                  "_prompt.npy, read with numpy.load, no pickle)"),
        note="Weights: pytorch_model.bin (whether main also has model.safetensors is not shown by "
             "any public file found; the loader takes either). vocab.txt (BERT multilingual cased "
             "WordPiece) is listed by a check for suno/bark, not by the bark-small prefetch list: "
             "optional, tokenizer.json is what transformers reads. Only the English v2 presets are "
             "downloaded. Full stand-in: the real config classes, vocabularies, generation config "
             "and 24 kHz EnCodec, but REDUCED width (2 layers of 256 per sub-model instead of 12 "
             "of 768) and a word-level vocabulary."),
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
        files=(File("config.json", "json"), File("model.safetensors", "safetensors", 47 * MB),
               File("preprocessor_config.json", "json", required=False)),
        licence="Apache-2.0 (weights trained on ImageNet-1k)", used_in=("14",),
        evidence=("https://huggingface.co/microsoft/resnet-18/tree/main",
                  "GitHub code: download_resnet.rb FILES = config.json preprocessor_config.json "
                  "model.safetensors from microsoft/resnet-18/resolve/main/",
                  "GitHub code: ModelUrl::Resnet18 = microsoft/resnet-18/resolve/main/model.safetensors"),
        note="The weights are ResNetForImageClassification's (a 1000-class head on top); "
             "voicelab loads them into ResNetModel, which leaves the head out."),
    # ------------------------------------------------------------- notebooks 08-11
    Entry(
        "ljspeech", kind="dataset", repo_id="flexthink/ljspeech",
        revision="7367bcc33648be329bbef057cc97d0b83cadee11",
        files=(File("wavs/LJ00?-????.wav", "wav"),),
        licence="public domain (LJ Speech)", used_in=("08",),
        evidence=("https://huggingface.co/datasets/flexthink/ljspeech/tree/main/wavs",
                  "public code (GitHub code search): per-clip URLs https://huggingface.co/datasets/"
                  "flexthink/ljspeech/resolve/main/wavs/LJ001-{n:04d}.wav; speechbrain's LJSpeech "
                  "recipe downloads train/valid/test.txt from the same dataset repo"),
        note="voicelab fetches single clips by URL (voice.dataset.example_voice), each an "
             "Asset(url=..., manifest='ljspeech'); the pinned revision is not confirmed by a "
             "public page found here"),
    Entry(
        "contentvec", repo_id="lengyue233/content-vec-best",
        files=(File("config.json", "json"), File("pytorch_model.bin", "torch-zip", 378 * MB)),
        licence="MIT", used_in=("09", "10", "11"),
        evidence=("https://huggingface.co/lengyue233/content-vec-best/tree/main",
                  "so-vits-svc-fork 4.2: so_vits_svc_fork/utils.py get_hubert_model "
                  "(HubertModelWithFinalProj.from_pretrained('lengyue233/content-vec-best'))",
                  "public download scripts (GitHub code search): .../content-vec-best/resolve/main/"
                  "config.json and .../resolve/main/pytorch_model.bin; hf_hub_download("
                  "'lengyue233/content-vec-best', 'pytorch_model.bin')"),
        note="no model.safetensors on main as far as public code shows (scripts that want "
             "safetensors convert it themselves)"),
    Entry(
        "so-vits-svc-G0",
        url="https://huggingface.co/datasets/ms903/sovits4.0-768vec-layer12/resolve/main/"
            "sovits_768l12_pre_large_320k/clean_G_320000.pth",
        files=(File("G_0.pth", "torch-zip", 549 * MB),),
        licence="unspecified (so-vits-svc 4.0 pretrained base)", used_in=("09",),
        evidence=("so-vits-svc-fork 4.2: so_vits_svc_fork/preprocessing/config_templates/"
                  "so-vits-svc-4.0v1.json model.pretrained {'G_0.pth': <this URL>} (downloaded by "
                  "utils.ensure_pretrained_model)",
                  "so-vits-svc 4.1 README_zh_CN and public setup scripts (GitHub code search): "
                  "curl .../clean_G_320000.pth -o logs/44k/G_0.pth"),
        note="size from the stand-in's arithmetic (generator + AdamW moments), not from a public "
             "page; 'clean_' may mean the optimiser state was dropped (then ~183 MB)"),
    Entry(
        "so-vits-svc-D0",
        url="https://huggingface.co/datasets/ms903/sovits4.0-768vec-layer12/resolve/main/"
            "sovits_768l12_pre_large_320k/clean_D_320000.pth",
        files=(File("D_0.pth", "torch-zip", 561 * MB),),
        licence="unspecified (so-vits-svc 4.0 pretrained base)", used_in=("09",),
        evidence=("so-vits-svc-fork 4.2: so_vits_svc_fork/preprocessing/config_templates/"
                  "so-vits-svc-4.0v1.json model.pretrained {'D_0.pth': <this URL>}",
                  "public setup scripts (GitHub code search): curl .../clean_D_320000.pth -o "
                  "logs/44k/D_0.pth"),
        note="size as for so-vits-svc-G0: not from a public page"),
    Entry(
        "svc-Entreprenerdly--drake-so-vits-svc", repo_id="Entreprenerdly/drake-so-vits-svc",
        files=(File("config.json", "json"), File("G_106000.pth", "torch-zip")),
        licence="unspecified; imitates a real artist's voice: for learning inference only, "
                "never to publish", used_in=("10",),
        evidence=("https://huggingface.co/Entreprenerdly/drake-so-vits-svc/tree/main",
                  "public FastAPI voice apps (GitHub code search): MODEL_REPOS maps 'drake' to "
                  "repo_id Entreprenerdly/drake-so-vits-svc, model_filename G_106000.pth, "
                  "config_filename config.json, fetched with hf_hub_download and run with "
                  "`svc infer -m ... -c ...`",
                  "a Korean so-vits-svc tutorial: hf_hub_download(repo_id='Entreprenerdly/"
                  "drake-so-vits-svc', filename='config.json'), then the model file"),
        note="size unknown; torch-zip assumed (so-vits-svc's torch.save since torch 1.6); no "
             "model card or licence found"),
    Entry(
        "rvc-sail-rvc--yoimiya-jp", repo_id="sail-rvc/yoimiya-jp",
        files=(File("model.pth", "torch-zip", 55 * MB), File("model.index", "faiss-index")),
        licence="unspecified; imitates a voice actor: for learning inference only",
        used_in=("11",),
        evidence=("https://huggingface.co/sail-rvc/yoimiya-jp/tree/main",
                  "public Gradio RVC apps (GitHub code search), download box example: "
                  "https://huggingface.co/sail-rvc/yoimiya-jp/blob/main/model.pth, "
                  "https://huggingface.co/sail-rvc/yoimiya-jp/blob/main/model.index"),
        note="55 MB assumes an RVC v2 40k inference export (fp16, no enc_q); one public note "
             "says sail-rvc/* downloads asked for a login (not confirmed here)"),
    Entry(
        "rvc-rmvpe", repo_id="lj1995/VoiceConversionWebUI",
        files=(File("rmvpe.pt", "torch-zip", 181 * MB),),
        licence="MIT", used_in=("11",),
        evidence=("https://huggingface.co/lj1995/VoiceConversionWebUI/tree/main",
                  "RVC-Project/Retrieval-based-Voice-Conversion-WebUI: tools/download_models.py "
                  "(RVC_DOWNLOAD_LINK .../lj1995/VoiceConversionWebUI/resolve/main/ + 'rmvpe.pt')",
                  "many public download scripts (GitHub code search): "
                  "https://huggingface.co/lj1995/VoiceConversionWebUI/resolve/main/rmvpe.pt")),
    Entry(
        "whisper-base-en", repo_id="openai/whisper-base.en",
        revision="911407f4214e0e1d82085af863093ec0b66f9cd6",
        files=(File("config.json", "json", 1_940), File("generation_config.json", "json", 1_530),
               File("model.safetensors", "safetensors", 290 * MB),
               File("preprocessor_config.json", "json", 185_000),
               File("tokenizer.json", "json", required=False),
               File("tokenizer_config.json", "json"),
               File("vocab.json", "json", 999_000), File("merges.txt", "text", 456_000),
               File("normalizer.json", "json", 52_700),
               File("added_tokens.json", "json", 34_600, required=False),
               File("special_tokens_map.json", "json", required=False)),
        licence="Apache-2.0", used_in=("10",),
        evidence=("https://huggingface.co/openai/whisper-base.en/tree/main (read via the search "
                  "index: main at 911407f, 'Correct long-form generation config parameters' "
                  "(#17); added_tokens.json 34.6 kB, config.json 1.94 kB, generation_config.json "
                  "1.53 kB, merges.txt 456 kB, model.safetensors 290 MB ('Adding safetensors "
                  "variant' #13), normalizer.json 52.7 kB, preprocessor_config.json 185 kB, "
                  "pytorch_model.bin, flax_model.msgpack, tf_model.h5; licence apache-2.0)",
                  "https://huggingface.co/openai/whisper-base.en/tree/b1397f9e04baab40e658a3dbb2736af4a5f0c8d6 "
                  "('Changes for fast tokenizer' #5): tokenizer.json 2.13 MB, special_tokens_map.json, "
                  "tokenizer_config.json, vocab.json 999 kB",
                  "GitHub code: a model catalogue pins ('base.en', "
                  "'911407f4214e0e1d82085af863093ec0b66f9cd6', '290 MB') as 'official safetensors "
                  "and tokenizer'; a WhisperKit provisioning script downloads tokenizer.json, "
                  "tokenizer_config.json, vocab.json, merges.txt, special_tokens_map.json from "
                  "openai/whisper-base.en/resolve/911407f4214e0e1d82085af863093ec0b66f9cd6/"),
        note="English-only Whisper base (74M parameters, float32), the FULL-mode recogniser of the "
             "score card's CER. The weights are listed as model.safetensors only, so the snapshot "
             "skips pytorch_model.bin, tf_model.h5 and flax_model.msgpack (the same weights again). "
             "Whether main still holds tokenizer.json and special_tokens_map.json after the "
             "timestamp-token commit (#14) is not shown by the pages read here: optional. Sizes are "
             "the tree page's rounded ones. Full stand-in: WhisperForConditionalGeneration with "
             "base.en's configuration (d_model 512, 6+6 layers, 51,864 tokens), random weights."),
    Entry(
        "demucs-htdemucs", repo_id="adefossez/HTDemucs",
        files=(File("htdemucs.yaml", "yaml"), File("955717e8.safetensors", "safetensors")),
        licence="MIT", used_in=("08",),
        evidence=("demucs 4.1 (PyPI 4.1.0): demucs/hf.py get_hf_model: repo adefossez/"
                  "hf_repo_name('htdemucs') = adefossez/HTDemucs, hf_hub_download(repo, "
                  "'htdemucs.yaml'), then '<sig>.safetensors' for each sig in the bag; "
                  "load_safetensors_model reads klass/args/kwargs from the safetensors metadata",
                  "facebookresearch/demucs: demucs/remote/htdemucs.yaml = models: ['955717e8']",
                  "public install script (GitHub code search): hf_hub_download('adefossez/"
                  "HTDemucs', f, revision=...) for f in ('955717e8.safetensors', "
                  "'htdemucs.yaml'), with demucs 4.1.0"),
        note="demucs 4.0 downloaded .th files from dl.fbaipublicfiles.com (demucs/remote/"
             "files.txt), pickles holding the model class that need full unpickling; voicelab "
             "loads only 4.1's safetensors. Size not known from a public page"),
]

#: Every external asset by name (see the module docstring).
MANIFEST: dict[str, Entry] = {e.name: e for e in _ENTRIES}
