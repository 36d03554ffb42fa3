"""Tiny random models of every encoder family, written as users get them.

`build_hf_folder(family, root)` writes a Hugging Face folder the way
`transformers` writes one today: `save_pretrained` of the model class (tensor
names without the `bert.` / `roberta.` / ... prefix) and of the fast tokenizer
(`tokenizer.json`, plus the older vocabulary files where the tokenizer writes
them). Tokenizers are trained here on a small corpus, so that accents,
Vietnamese, CJK and emoji meet real pieces. Needs `transformers` and
`sentencepiece` (the `dev` extra). Run in a subprocess by the tests, so that
torch and transformers stay out of the test process.
"""

import json
import os
import sys

FAMILIES = (
    "bert_uncased",
    "bert_cased",
    "distil_bert",
    "roberta",
    "xlm_roberta",
    "albert",
    "deberta_v3",
    "electra",
)

# Strings where tokenizers disagree: accents, Vietnamese, CJK, emoji, "ß",
# case, long words, runs of spaces, control characters, ligatures, NBSP.
AWKWARD = [
    "café",
    "naïve Café au lait",
    "Tôi rất thích bộ phim này",
    "Phim này quá dở, tôi không thích.",
    "東京タワーは高い",
    "我爱这部电影!",
    "great film 😀👍",
    "Straße und Fuß",
    "HELLO WORLD",
    "Don't STOP believing",
    "supercalifragilisticexpialidocious" * 5,
    "a" * 120,
    "many    spaces   here",
    "tab\tand\nnewline",
    "control\x00\x07chars\x1f",
    "ﬁne ligature",
    "nbsp\u00a0space and zero\u200bwidth",
    "résumé, coöperate; déjà-vu!",
    "``quoted'' text",
    "  leading and trailing  ",
    "x",
    "E=mc^2 & 100% <tags>",
    "Ångström ÉCOLE Ñandú",
    "über-cool Über",
    "₫ 50.000 đồng",
    "Nguyễn Văn A sống ở Hà Nội",
    "<s> </s> [CLS] [MASK]",
    "emoji 🤖 mid😀word",
    "İstanbul ǅ ǈ",
    "",
]

_CORPUS = [
    "a wonderful moving film",
    "dull and far too long",
    "I loved every minute of it",
    "a waste of time and money",
    "the acting was great but the story was weak",
    "Ada Lovelace wrote the first program in London",
    "Paris and Berlin are cities in Europe",
    "The café served a naïve résumé of coöperate déjà vu",
    "Tôi rất thích bộ phim này, diễn viên rất giỏi",
    "Phim này quá dở, tôi không thích chút nào",
    "Nguyễn Văn A sống ở Hà Nội và làm việc ở Sài Gòn",
    "東京タワーは高い 我爱这部电影",
    "Straße Fuß Ångström ÉCOLE Ñandú über Über İstanbul",
    "great film 😀 👍 🤖 ₫ 50.000 đồng",
    "HELLO WORLD Don't STOP believing",
    "E=mc^2 & 100% <tags> quoted text",
    # examples/vietnamese.py's sentences: a multilingual vocabulary knows their letters.
    "Tên tôi là John và tôi yêu lập trình. Chất lượng này thật tệ",
    "Cảm ơn bạn vì dịch vụ tuyệt vời. Sản phẩm này thật đáng thất vọng",
    "Natural language processing rất thú vị. Dịch vụ quá chậm và tệ",
]


def corpus():
    return _CORPUS * 20 + AWKWARD


_SMALL = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)


def _wordpiece_tokenizer(lowercase, folder):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from tokenizers.processors import TemplateProcessing

    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    tokenizer.train_from_iterator(
        corpus(), trainers.WordPieceTrainer(vocab_size=400, special_tokens=special)
    )
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
    path = os.path.join(folder, "vocab.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(word + "\n" for word, _ in vocab))
    return path, len(vocab)


def _bpe_files(folder):
    from tokenizers import ByteLevelBPETokenizer

    tokenizer = ByteLevelBPETokenizer()
    tokenizer.train_from_iterator(
        corpus(), vocab_size=400, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    )
    tokenizer.save_model(folder)
    with open(os.path.join(folder, "vocab.json"), encoding="utf-8") as f:
        size = len(json.load(f))
    return os.path.join(folder, "vocab.json"), os.path.join(folder, "merges.txt"), size


# The special pieces each family's real checkpoints carry, in their order.
_SPM_SPECIALS = {
    "xlm_roberta": dict(unk_id=0, bos_id=1, eos_id=2, pad_id=-1),
    "albert": dict(
        pad_id=0,
        unk_id=1,
        bos_id=2,
        eos_id=3,
        pad_piece="<pad>",
        unk_piece="<unk>",
        bos_piece="[CLS]",
        eos_piece="[SEP]",
        user_defined_symbols=["[MASK]"],
    ),
    "deberta_v3": dict(
        pad_id=0,
        bos_id=1,
        eos_id=2,
        unk_id=3,
        pad_piece="[PAD]",
        bos_piece="[CLS]",
        eos_piece="[SEP]",
        unk_piece="[UNK]",
        user_defined_symbols=["[MASK]"],
    ),
}


def _spm_file(family, folder, lowercase_pieces=False):
    import sentencepiece as spm

    prefix = os.path.join(folder, "spm")
    text = [t.lower() if lowercase_pieces else t for t in corpus() if t]
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(text),
        model_prefix=prefix,
        vocab_size=200,
        hard_vocab_limit=False,
        model_type="unigram",
        character_coverage=1.0,
        minloglevel=2,
        **_SPM_SPECIALS[family],
    )
    return prefix + ".model"


def build_hf_folder(family, root):
    """Write a tiny random `family` model as a Hugging Face folder under `root`."""
    import tempfile

    import transformers as tr

    folder = os.path.join(root, f"hf_{family}")
    os.makedirs(folder, exist_ok=True)
    work = tempfile.mkdtemp(prefix=f"{family}_", dir=root)
    common = dict(_SMALL, max_position_embeddings=64)
    # The tokenizer as a user gets it: `from_pretrained` on the slow vocabulary
    # files, converted by transformers to a fast tokenizer.
    if family in ("bert_uncased", "bert_cased", "electra", "distil_bert"):
        lowercase = family != "bert_cased"
        _, size = _wordpiece_tokenizer(lowercase, work)
        tokenizer_class = {"electra": tr.ElectraTokenizer, "distil_bert": tr.DistilBertTokenizer}
        tokenizer = tokenizer_class.get(family, tr.BertTokenizer).from_pretrained(
            work, do_lower_case=lowercase
        )
        if family == "electra":
            model = tr.ElectraModel(tr.ElectraConfig(vocab_size=size, embedding_size=16, **common))
        elif family == "distil_bert":
            config = tr.DistilBertConfig(
                vocab_size=size,
                dim=32,
                n_layers=2,
                n_heads=2,
                hidden_dim=64,
                max_position_embeddings=64,
            )
            model = tr.DistilBertModel(config)
        else:
            model = tr.BertModel(tr.BertConfig(vocab_size=size, **common))
    elif family == "roberta":
        _, _, size = _bpe_files(work)
        tokenizer = tr.RobertaTokenizer.from_pretrained(work)
        config = dict(common, max_position_embeddings=66)  # RoBERTa offsets positions by 2
        model = tr.RobertaModel(tr.RobertaConfig(vocab_size=size, **config))
    elif family in ("xlm_roberta", "albert", "deberta_v3"):
        spm_path = _spm_file(family, work, lowercase_pieces=family == "albert")
        name, tokenizer_class = {
            "xlm_roberta": ("sentencepiece.bpe.model", tr.XLMRobertaTokenizer),
            "albert": ("spiece.model", tr.AlbertTokenizer),
            "deberta_v3": ("spm.model", tr.DebertaV2Tokenizer),
        }[family]
        os.replace(spm_path, os.path.join(work, name))
        import shutil

        shutil.copy(os.path.join(work, name), os.path.join(root, f"{family}.spm.model"))
        tokenizer = tokenizer_class.from_pretrained(work)
        size = len(tokenizer)
        if family == "xlm_roberta":
            config = dict(common, max_position_embeddings=66)
            model = tr.XLMRobertaModel(tr.XLMRobertaConfig(vocab_size=size, **config))
        elif family == "albert":
            config = tr.AlbertConfig(vocab_size=size, embedding_size=16, **common)
            model = tr.AlbertModel(config)
        else:
            config = tr.DebertaV2Config(
                vocab_size=size,
                relative_attention=True,
                position_buckets=16,
                pos_att_type=["p2c", "c2p"],
                max_relative_positions=-1,
                position_biased_input=False,
                norm_rel_ebd="layer_norm",
                **common,
            )
            model = tr.DebertaV2Model(config)
    else:
        raise ValueError(f"Unknown family: {family!r}")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


# Pre-split sentences for token classification: Hugging Face's word ids are the reference.
WORDS = [
    ["Ada", "Lovelace", "wrote", "in", "London", "."],
    ["Nguyễn", "Văn", "A", "sống", "ở", "Hà", "Nội"],
    ["Straße", "😀", "東京", "Don't", "supercalifragilistic"],
]


def reference(folder, family, max_length=64):
    """Hugging Face's ids for AWKWARD and word ids for WORDS, from `folder`."""
    import transformers as tr

    tokenizer = tr.AutoTokenizer.from_pretrained(folder)
    ids = [tokenizer(t, truncation=True, max_length=max_length)["input_ids"] for t in AWKWARD]
    words = tr.AutoTokenizer.from_pretrained(folder, add_prefix_space=True)
    encoded = [words(w, is_split_into_words=True, truncation=False) for w in WORDS]
    return {
        "ids": ids,
        "word_ids": [e.word_ids() for e in encoded],
        "word_input_ids": [e["input_ids"] for e in encoded],
    }


def build_all(root, families=FAMILIES):
    """Every family's Hugging Face folder under `root`, and `root/reference.json`."""
    out = {}
    for family in families:
        folder = build_hf_folder(family, root)
        out[family] = reference(folder, family)
    with open(os.path.join(root, "reference.json"), "w", encoding="utf-8") as f:
        json.dump(out, f)
    return out


if __name__ == "__main__":
    build_all(sys.argv[1], sys.argv[2:] or FAMILIES)
