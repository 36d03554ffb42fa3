"""Hugging Face folders as `transformers` writes them, made loadable by keras-hub.

`transformers` 5 saves a fast tokenizer as `tokenizer.json` alone, while
keras-hub's converters read the older vocabulary files (`vocab.txt`,
`vocab.json` + `merges.txt`, a SentencePiece model). Where those are missing,
they are written from `tokenizer.json` into a shadow folder (links to the
user's files plus the generated ones, in the temporary directory); the
user's folder is never written to.
"""

import hashlib
import json
import os
import tempfile

# model_type -> (files keras-hub's converter reads, tokenizer_config.json keys it reads)
_NEEDS = {
    "bert": (("vocab.txt",), ("do_lower_case",)),
    "distilbert": (("vocab.txt",), ("do_lower_case",)),
    "roberta": (("vocab.json", "merges.txt"), ()),
    "xlm-roberta": (("sentencepiece.bpe.model",), ()),
    "albert": (("spiece.model",), ()),
    "deberta-v2": (("spm.model",), ()),
    "electra": (("vocab.txt",), ("do_lower_case",)),
}
# keras-hub's XLM-R tokenizer adds the fairseq offset itself: its
# SentencePiece model starts <unk>, <s>, </s>, where Hugging Face's
# vocabulary starts <s>, <pad>, </s>, <unk> and ends with <mask>.
_FAIRSEQ_HEAD = ("<s>", "<pad>", "</s>", "<unk>")


def model_type(folder):
    """The `model_type` of a Hugging Face folder's config.json (None if absent)."""
    path = os.path.join(folder, "config.json")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f).get("model_type")
    except (OSError, ValueError):
        return None


def is_hf_folder(folder):
    return os.path.isdir(folder) and not os.path.isfile(os.path.join(folder, "metadata.json"))


def read_tokenizer_json(folder):
    """The folder's Hugging Face `tokenizer.json` as a string, or None."""
    if not is_hf_folder(folder):
        return None
    path = os.path.join(folder, "tokenizer.json")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return f.read()


def keras_hub_folder(folder):
    """`folder`, or a shadow of it with the vocabulary files keras-hub reads,
    written from its `tokenizer.json`. A ValueError names what is missing."""
    if not is_hf_folder(folder):
        return folder
    kind = model_type(folder)
    files, keys = _NEEDS.get(kind, ((), ()))
    present = set(os.listdir(folder))
    config = _tokenizer_config(folder)
    missing_files = [f for f in files if f not in present]
    missing_keys = [k for k in keys if k not in config]
    if not missing_files and not missing_keys:
        return folder
    if "tokenizer.json" not in present:
        raise ValueError(
            f"The Hugging Face folder ({kind or 'unknown'} model) has neither "
            f"{' nor '.join(missing_files) or 'the tokenizer settings'} nor tokenizer.json, so "
            f"its tokenizer cannot be read. Found: {sorted(present)}. Received: preset={folder!r}"
        )
    with open(os.path.join(folder, "tokenizer.json"), encoding="utf-8") as f:
        spec = json.load(f)
    generated = _vocabulary_files(kind, spec, missing_files, folder)
    generated["tokenizer_config.json"] = json.dumps(_complete_config(config, spec)).encode()
    return _shadow(folder, present, generated)


def _tokenizer_config(folder):
    path = os.path.join(folder, "tokenizer_config.json")
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _complete_config(config, spec):
    config = dict(config)
    normalizer = spec.get("normalizer") or {}
    if normalizer.get("type") == "BertNormalizer":
        config.setdefault("do_lower_case", bool(normalizer.get("lowercase", True)))
        config.setdefault("strip_accents", normalizer.get("strip_accents"))
    config.setdefault("do_lower_case", False)
    return config


def _vocabulary_files(kind, spec, missing, folder):
    model = spec.get("model") or {}
    out = {}
    for name in missing:
        if name == "vocab.txt" and model.get("type") == "WordPiece":
            words = sorted(model["vocab"].items(), key=lambda item: item[1])
            out[name] = "".join(word + "\n" for word, _ in words).encode("utf-8")
        elif name == "vocab.json" and model.get("type") == "BPE":
            out[name] = json.dumps(model["vocab"], ensure_ascii=False).encode("utf-8")
        elif name == "merges.txt" and model.get("type") == "BPE":
            merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
            out[name] = ("#version: 0.2\n" + "".join(m + "\n" for m in merges)).encode("utf-8")
        elif name.endswith(".model") and model.get("type") == "Unigram":
            out[name] = _sentencepiece_proto(kind, spec)
        else:
            raise ValueError(
                f"The Hugging Face folder's tokenizer.json holds a {model.get('type')} model, "
                f"from which {name} (needed for a {kind} model) cannot be written. "
                f"Received: preset={folder!r}"
            )
    return out


def _sentencepiece_proto(kind, spec):
    """A SentencePiece model holding tokenizer.json's Unigram pieces and scores."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    model = spec["model"]
    vocab = [(piece, score) for piece, score in model["vocab"]]
    special = {t["content"] for t in spec.get("added_tokens", []) if t.get("special")}
    unk_id = model.get("unk_id") or 0
    if kind == "xlm-roberta":
        body = [v for v in vocab if v[0] not in _FAIRSEQ_HEAD and v[0] != "<mask>"]
        vocab = [("<unk>", 0.0), ("<s>", 0.0), ("</s>", 0.0)] + body
        unk_id = 0
    proto = pb.ModelProto()
    for index, (piece, score) in enumerate(vocab):
        entry = proto.pieces.add()
        entry.piece, entry.score = piece, float(score)
        if index == unk_id:
            entry.type = pb.ModelProto.SentencePiece.UNKNOWN
        elif piece in special or piece in _FAIRSEQ_HEAD:
            entry.type = pb.ModelProto.SentencePiece.CONTROL
    proto.trainer_spec.model_type = pb.TrainerSpec.UNIGRAM
    proto.trainer_spec.unk_id = unk_id
    ids = {piece: i for i, (piece, _) in enumerate(vocab)}
    proto.trainer_spec.bos_id = ids.get("<s>", ids.get("[CLS]", -1))
    proto.trainer_spec.eos_id = ids.get("</s>", ids.get("[SEP]", -1))
    proto.trainer_spec.pad_id = ids.get("<pad>", ids.get("[PAD]", -1))
    charsmap = _precompiled_charsmap(spec.get("normalizer"))
    proto.normalizer_spec.name = "nmt_nfkc" if charsmap else "identity"
    proto.normalizer_spec.precompiled_charsmap = charsmap
    proto.normalizer_spec.add_dummy_prefix = True
    proto.normalizer_spec.remove_extra_whitespaces = True
    proto.normalizer_spec.escape_whitespaces = True
    return proto.SerializeToString()


def _precompiled_charsmap(normalizer):
    """The SentencePiece normalization table inside a tokenizer.json normalizer."""
    import base64

    if not isinstance(normalizer, dict):
        return b""
    if normalizer.get("type") == "Precompiled":
        return base64.b64decode(normalizer.get("precompiled_charsmap") or "")
    for inner in normalizer.get("normalizers") or []:
        found = _precompiled_charsmap(inner)
        if found:
            return found
    return b""


def _shadow(folder, present, generated):
    """A folder of links to `folder`'s files plus `generated` ones, reused while unchanged."""
    folder = os.path.abspath(folder)
    digest = hashlib.sha256(folder.encode())
    for name in sorted(present):
        stat = os.stat(os.path.join(folder, name))
        digest.update(f"{name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    for name in sorted(generated):
        digest.update(name.encode() + generated[name])
    root = os.path.join(tempfile.gettempdir(), "keras_transfer_folders")
    target = os.path.join(root, digest.hexdigest()[:24])
    if os.path.isdir(target):
        return target
    os.makedirs(root, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".staging_", dir=root)
    for name in present:
        if name not in generated:
            os.symlink(os.path.join(folder, name), os.path.join(staging, name))
    for name, content in generated.items():
        with open(os.path.join(staging, name), "wb") as f:
            f.write(content)
    try:
        os.rename(staging, target)
    except OSError:  # another process made it first
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
    return target
