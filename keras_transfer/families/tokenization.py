"""Tokenization as Hugging Face does it, for every family, and family-neutral block lists.

The toolkit tokenizes texts with Hugging Face's Rust `tokenizers` library,
never with a look-alike:

- a model loaded from a Hugging Face folder carries the folder's own
  `tokenizer.json` (saved with the model, see `TransferModel.save_assets`), so
  its ids are Hugging Face's by construction;
- a keras-hub WordPiece or byte-level BPE tokenizer gets the pipeline that
  Hugging Face's converters build from the same vocabulary (BERT: its
  normalizer, accents stripped when lowercasing; RoBERTa: byte-level BPE);
- a keras-hub SentencePiece tokenizer (XLM-RoBERTa, ALBERT, DeBERTa-v3) gets
  the pipeline Hugging Face's converter builds from the same SentencePiece
  model: its pieces and scores, its normalization rules (ALBERT lowercases
  and strips accents, as Hugging Face does), XLM-R's fairseq ids.
"""

import json

HF_TOKENIZER_ATTRIBUTE = "hf_tokenizer_json"


def transformer_blocks(backbone):
    """The backbone's transformer blocks, bottom first, as one flat list.

    keras-hub keeps most families' blocks in `transformer_layers`; ALBERT
    keeps a list of groups of shared layers there, flattened here.
    """
    blocks = []
    for block in getattr(backbone, "transformer_layers", None) or []:
        blocks.extend(block if isinstance(block, (list, tuple)) else [block])
    return blocks


def attach_hf_tokenizer(tokenizer, tokenizer_json):
    """Give a keras-hub `tokenizer` the Hugging Face tokenizer it was loaded
    from (`tokenizer.json` text), and align keras-hub's own WordPiece settings
    with it (lowercasing, accent stripping) for the paths keras-hub runs itself."""
    if tokenizer is None or tokenizer_json is None:
        return tokenizer
    setattr(tokenizer, HF_TOKENIZER_ATTRIBUTE, tokenizer_json)
    normalizer = json.loads(tokenizer_json).get("normalizer") or {}
    if normalizer.get("type") == "BertNormalizer" and hasattr(tokenizer, "strip_accents"):
        lowercase = bool(normalizer.get("lowercase", True))
        strip = normalizer.get("strip_accents")
        tokenizer.lowercase = lowercase
        tokenizer.strip_accents = lowercase if strip is None else bool(strip)
    return tokenizer


def reference_tokenizer(tokenizer):
    """A `tokenizers.Tokenizer` that maps text to the ids Hugging Face gives
    for this model (no special tokens, no padding, no truncation), or None
    where keras-hub's own tokenizer is the reference."""
    import keras_hub
    from tokenizers import Tokenizer

    hf_json = getattr(tokenizer, HF_TOKENIZER_ATTRIBUTE, None)
    if hf_json:
        reference = Tokenizer.from_str(hf_json)
    elif isinstance(tokenizer, keras_hub.tokenizers.WordPieceTokenizer):
        reference = _wordpiece(tokenizer)
    elif isinstance(tokenizer, keras_hub.tokenizers.BytePairTokenizer):
        reference = _byte_level_bpe(tokenizer)
    elif isinstance(tokenizer, keras_hub.tokenizers.SentencePieceTokenizer):
        reference = _sentencepiece(tokenizer)
    else:
        return None
    if reference is None:
        return None
    if not hf_json:
        _add_special_tokens(reference, tokenizer)
    reference.no_padding()
    reference.no_truncation()
    return reference


def _wordpiece(tokenizer):
    """Hugging Face's BERT tokenizer pipeline on a keras-hub WordPiece vocabulary."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    if not tokenizer.split or tokenizer.special_tokens_in_strings:
        return None
    vocabulary = {word: i for i, word in enumerate(tokenizer.get_vocabulary())}
    if tokenizer.oov_token not in vocabulary:
        return None
    reference = Tokenizer(
        models.WordPiece(
            vocabulary,
            unk_token=tokenizer.oov_token,
            continuing_subword_prefix=tokenizer.suffix_indicator,
            max_input_chars_per_word=100,
        )
    )
    # Hugging Face strips accents whenever it lowercases, unless told otherwise.
    strip = True if tokenizer.strip_accents else None
    reference.normalizer = normalizers.BertNormalizer(
        clean_text=True,
        handle_chinese_chars=tokenizer.split_on_cjk,
        strip_accents=strip,
        lowercase=tokenizer.lowercase,
    )
    reference.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return reference


def _byte_level_bpe(tokenizer):
    """Hugging Face's RoBERTa / GPT-2 tokenizer pipeline on a keras-hub BPE vocabulary."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocabulary = dict(tokenizer.get_vocabulary() and tokenizer.vocabulary)
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in tokenizer.merges]
    merges = [m for m in merges if len(m) == 2 and not m[0].startswith("#version")]
    reference = Tokenizer(models.BPE(vocabulary, merges, fuse_unk=False))
    reference.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    return reference


def _add_special_tokens(reference, tokenizer):
    """Special tokens written in a text stay whole, as in Hugging Face."""
    from tokenizers import AddedToken

    names = [t for t in (getattr(tokenizer, "special_tokens", None) or []) if t]
    mask = getattr(tokenizer, "mask_token", None)
    tokens = [AddedToken(t, special=True, normalized=False, lstrip=t == mask) for t in names]
    vocabulary = reference.get_vocab()
    reference.add_special_tokens([t for t in tokens if t.content in vocabulary])


def _sentencepiece(tokenizer):
    """Hugging Face's converter for the family, on keras-hub's SentencePiece model."""
    import keras_hub
    from sentencepiece import sentencepiece_model_pb2 as pb
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers

    proto = pb.ModelProto()
    proto.ParseFromString(_proto_bytes(tokenizer))
    if proto.trainer_spec.model_type != pb.TrainerSpec.UNIGRAM:
        return None
    vocab = [(p.piece, p.score) for p in proto.pieces]
    unk_id = proto.trainer_spec.unk_id
    charsmap = proto.normalizer_spec.precompiled_charsmap
    precompiled = [normalizers.Precompiled(charsmap)] if charsmap else []
    metaspace = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    pre = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), metaspace])
    if isinstance(tokenizer, keras_hub.tokenizers.XLMRobertaTokenizer):
        head = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
        vocab, unk_id = head + vocab[3:] + [("<mask>", 0.0)], 3
        normalizer = normalizers.Sequence(precompiled) if precompiled else None
    elif isinstance(tokenizer, keras_hub.tokenizers.AlbertTokenizer):
        normalizer = normalizers.Sequence(
            [
                normalizers.Replace("``", '"'),
                normalizers.Replace("''", '"'),
                normalizers.NFKD(),
                normalizers.StripAccents(),
                normalizers.Lowercase(),
                *precompiled,
            ]
        )
    elif isinstance(tokenizer, keras_hub.tokenizers.DebertaV3Tokenizer):
        # As Hugging Face (transformers >= 5.25) builds it: the model's own
        # normalization where it has one (control characters dropped, NFKC).
        normalizer = normalizers.Sequence(
            [
                *precompiled,
                normalizers.Strip(left=False, right=True),
                normalizers.Replace(Regex(r" {2,}"), " "),
            ]
            if precompiled
            else [
                normalizers.Replace(Regex(r"\s{2,}|[\n\r\t]"), " "),
                normalizers.NFC(),
                normalizers.Strip(left=False, right=True),
            ]
        )
        pre = metaspace
    else:
        return None
    reference = Tokenizer(models.Unigram(vocab, unk_id=unk_id, byte_fallback=False))
    if normalizer is not None:
        reference.normalizer = normalizer
    reference.pre_tokenizer = pre
    return reference


def _proto_bytes(tokenizer):
    proto = tokenizer.proto
    if isinstance(proto, str):
        with open(proto, "rb") as f:
            return f.read()
    return bytes(proto)
