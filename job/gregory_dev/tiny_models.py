"""Tiny BERT and BART checkpoints built offline, for tests, benchmarks and the offline demo.

Neither downloads anything: the BERT WordPiece vocabulary is written from the word list below and
the BART byte-level BPE is trained with `tokenizers` on a corpus generated here from the same
words. The tiny BART is then trained for a few hundred steps to copy an abstract's first words, so
generation ends with </s> after a few tokens instead of running to the 300-token cap as a randomly
initialised decoder would (which would make every test summarisation needlessly slow).

Settings that use them: GREGORY_BERT_MODEL=<out>/bert, GREGORY_SUMMARISER_MODEL=<out>/bart.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
from pathlib import Path

from gregory.ml.data.splits import SEED

# Bump when the builder changes what it writes, so an existing output directory is rebuilt.
BUILDER_VERSION = 2
MARKER = "tiny_models.json"

# Words of biomedical abstracts (multiple sclerosis research in particular) and common English;
# they make the WordPiece vocabulary and the generated BPE corpus.
_WORD_TEXT = """
a about across activity acute adult adults after age aged against all also among an analysis and
animal antibodies antibody any approach are area areas as assessed association associated at
atrophy autoimmune axonal b barrier based baseline be been between blood both brain brains but by
care case cases cause cell cells central cerebral changes child children chronic clinical cognitive
cohort common compared comparison control controls cord cortex cortical could course cross data day
days decreased demyelinating demyelination depression design diagnosed diagnosis differences
disability disease diseases disorder disorders dna dose drug drugs during early edss effect
effective effects efficacy endothelial enrolled evidence examined expression factor factors fatigue
female findings first follow followed for found from function functional gene genetic given group
groups had has have health healthy high higher however human identified imaging immune impact
improved in including increase increased incidence individuals infection inflammation inflammatory
interferon is it its known laboratory lesion lesions level levels life long low lower lymphocytes
magnetic matter may measured mechanism mechanisms method methods mice microglia model models months
more mortality most mouse mri ms multiple myelin natalizumab nerve nervous neurodegeneration
neurological neurons new no non not novel number observed ocrelizumab of on one onset optic or
other outcome outcomes over patient patients pathology people per performed period phase placebo
population potential predict prevalence primary progression progressive protein proteins quality
randomized rate rates reduced reduction regression related relapse relapses relapsing remitting
reported research resonance response results review risk role sample samples sclerosis secondary
serum severity showed significant significantly similar spinal stem studies study subjects such
suggest support symptoms system t than that the their therapy these this those three through time
tissue to total treated treatment treatments trial trials two type using vascular versus vitamin
was we were which while white who with within women year years young zo1 tet2 5hmc
"""
WORDS = _WORD_TEXT.split()

SPECIAL_BERT = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CHARS = list("abcdefghijklmnopqrstuvwxyz0123456789")
PUNCTUATION = list(".,;:()[]-/%'\"+=<>")


def wordpiece_vocab() -> list[str]:
    """Specials, the word list, single characters and their ## continuations (no word is [UNK])."""
    vocab = list(SPECIAL_BERT)
    for token in [*WORDS, *CHARS, *PUNCTUATION, *(f"##{c}" for c in CHARS)]:
        if token not in vocab:
            vocab.append(token)
    return vocab


def generated_abstracts(count: int, seed: int = SEED) -> list[str]:
    """Pseudo-abstracts of 2-6 sentences drawn from WORDS, the corpus the BPE and BART learn on."""
    rng = random.Random(seed)
    abstracts = []
    for _ in range(count):
        sentences = []
        for _ in range(rng.randint(2, 6)):
            words = rng.choices(WORDS, k=rng.randint(6, 16))
            sentences.append(" ".join(words).capitalize() + ".")
        abstracts.append(" ".join(sentences))
    return abstracts


def build_bert(out: Path) -> None:
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    out.mkdir(parents=True, exist_ok=True)
    vocab = wordpiece_vocab()
    (out / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(vocab=str(out / "vocab.txt"), do_lower_case=True)
    tokenizer.model_max_length = 512
    tokenizer.save_pretrained(out)

    torch.manual_seed(SEED)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        pad_token_id=0,
    )
    BertModel(config).save_pretrained(out)


def build_bart(out: Path, train_steps: int = 600) -> None:
    from tokenizers import ByteLevelBPETokenizer
    from transformers import BartConfig, BartForConditionalGeneration, BartTokenizer

    from gregory.ml.core.torch_utils import seed_everything

    out.mkdir(parents=True, exist_ok=True)
    corpus = generated_abstracts(2000)
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        corpus, vocab_size=1000, min_frequency=2, special_tokens=specials, show_progress=False
    )
    with tempfile.TemporaryDirectory() as raw:
        bpe.save_model(raw)
        tokenizer = BartTokenizer(
            vocab=str(Path(raw) / "vocab.json"), merges=str(Path(raw) / "merges.txt")
        )
    tokenizer.model_max_length = 1024

    seed_everything(SEED)
    config = BartConfig(
        vocab_size=len(tokenizer),
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=1024,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,
        forced_bos_token_id=tokenizer.bos_token_id,  # type: ignore[call-arg]  # via **kwargs at run time
        forced_eos_token_id=tokenizer.eos_token_id,
    )
    model = BartForConditionalGeneration(config)
    _train_lead_words(model, tokenizer, corpus, train_steps)
    # Greedy decoding keeps the tiny model fast; bart-large-cnn ships its own beam settings.
    model.generation_config.num_beams = 1
    # As bart-large-cnn does: no repeated trigrams, which also ends degenerate loops sooner.
    model.generation_config.no_repeat_ngram_size = 3
    model.generation_config.max_length = 300
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def _train_lead_words(model, tokenizer, corpus: list[str], steps: int) -> None:
    """Teach the tiny BART to answer with the abstract's first three words.

    Short outputs that end in </s> keep generation fast; copying makes each summary depend on
    its input, so tests can tell summaries apart (a briefly trained decoder otherwise learns one
    fixed sentence). Inputs are cut to 24 tokens here so the copy is learnt in a few hundred steps.
    """
    import torch

    generator = torch.Generator().manual_seed(SEED)
    optimiser = torch.optim.AdamW(model.parameters(), lr=2e-3)
    targets = [" ".join(text.split()[:3]) for text in corpus]
    model.train()
    for _ in range(steps):
        idx = torch.randint(len(corpus), (16,), generator=generator).tolist()
        batch = tokenizer(
            [corpus[i] for i in idx],
            padding=True,
            truncation=True,
            max_length=24,
            return_tensors="pt",
        )
        labels = tokenizer(
            [targets[i] for i in idx],
            padding=True,
            truncation=True,
            max_length=16,
            return_tensors="pt",
        ).input_ids
        labels[labels == tokenizer.pad_token_id] = -100
        loss = model(**batch, labels=labels).loss
        loss.backward()
        optimiser.step()
        optimiser.zero_grad()
    model.eval()


def build_tiny_models(out: Path, *, force: bool = False) -> dict[str, Path]:
    """Write out/bert and out/bart; a no-op when a complete build of this version is there."""
    out = Path(out)
    marker = out / MARKER
    paths = {"bert": out / "bert", "bart": out / "bart"}
    if not force and marker.exists():
        try:
            if json.loads(marker.read_text()).get("builder_version") == BUILDER_VERSION:
                return paths
        except (OSError, ValueError):
            pass
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no "Writing model shards" bars in test and demo output
    out.mkdir(parents=True, exist_ok=True)
    # Build beside the target and rename, so a killed build never leaves a half checkpoint.
    staging = Path(tempfile.mkdtemp(prefix=".tiny-", dir=out))
    import torch

    threads = torch.get_num_threads()
    # Models this small train several times faster on one thread than on a contended pool.
    torch.set_num_threads(1)
    try:
        build_bert(staging / "bert")
        build_bart(staging / "bart")
        for name, path in paths.items():
            if path.exists():
                shutil.rmtree(path)
            (staging / name).rename(path)
    finally:
        torch.set_num_threads(threads)
        shutil.rmtree(staging, ignore_errors=True)
    marker.write_text(json.dumps({"builder_version": BUILDER_VERSION}) + "\n")
    return paths
