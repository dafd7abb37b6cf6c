"""One acoustic model for Mandarin and English (#25 item 2): token ids carry their language
(``id + n_symbols * language``), the model adds a language embedding, training data and
exported graphs carry the language through."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ttsengine.errors import InvalidInputError
from ttsengine.frontend import Frontend, default_symbols
from ttsengine.models.acoustic import AcousticConfig, AcousticModel, acoustic_config
from ttsengine.training.datasets import symbols_to_tokens
from ttsengine.training.prepare import PrepareConfig, prepare_dataset, read_durations


def _model(n_languages: int) -> AcousticModel:
    torch.manual_seed(0)
    return AcousticModel(acoustic_config("tiny", n_symbols=20, n_speakers=2, n_languages=n_languages)).eval()


def _encode(model: AcousticModel, tokens: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    longest = max(len(t) for t in tokens)
    tok = torch.tensor([t + [0] * (longest - len(t)) for t in tokens])
    mask = torch.tensor([[i < len(t) for i in range(longest)] for t in tokens])
    with torch.no_grad():
        hidden, log_d, *_ = model.encode(tok, mask, torch.tensor([0] * len(tokens)))
    return hidden, log_d


def test_config_keeps_one_language_voices_unchanged():
    one = acoustic_config("tiny", n_symbols=20, n_speakers=1)
    assert "n_languages" not in one.to_dict()
    two = acoustic_config("tiny", n_symbols=20, n_speakers=1, n_languages=2)
    assert two.to_dict()["n_languages"] == 2
    assert AcousticConfig.from_dict(two.to_dict()) == two
    with pytest.raises(ValueError, match="n_languages"):
        acoustic_config("tiny", n_symbols=20, n_speakers=1, n_languages=0)
    assert _model(1).language_embedding is None


def test_language_embedding_starts_at_zero_and_then_tells_languages_apart():
    model = _model(2)
    ids = [3, 7, 11, 2]
    plain, _ = _encode(model, [ids])
    other, _ = _encode(model, [[i + 20 for i in ids]])  # the same symbols, language 1
    torch.testing.assert_close(plain, other)  # a fresh embedding: the one-language model
    with torch.no_grad():
        model.language_embedding.weight[1].normal_()
    moved, _ = _encode(model, [[i + 20 for i in ids]])
    again, _ = _encode(model, [ids])
    torch.testing.assert_close(again, plain)  # language 0 is untouched
    assert (moved - plain).abs().max() > 1e-2


def test_padded_batch_of_mixed_languages_equals_rows_alone():
    model = _model(2)
    with torch.no_grad():
        model.language_embedding.weight.normal_()
    rows = [[3, 27, 11, 24, 5], [22, 4]]
    batch_hidden, batch_logd = _encode(model, rows)
    for r, row in enumerate(rows):
        hidden, log_d = _encode(model, [row])
        torch.testing.assert_close(batch_hidden[r, : len(row)], hidden[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(batch_logd[r, : len(row)], log_d[0], atol=1e-5, rtol=1e-5)


def test_frontend_model_ids_carry_the_language():
    mixed = Frontend.from_config({"kind": "mixed", "symbols": default_symbols("mixed"), "g2p": "espeak"})
    n = len(mixed.symbols)
    seg = mixed.segments("我用 phone 打电话。")[0]
    ids = mixed.model_ids(seg)
    langs = mixed.language_ids(seg)
    assert mixed.languages == ("zh", "en-us")
    assert 0 in langs and 1 in langs
    assert ids == [i + n * lang for i, lang in zip(seg.ids, langs)]
    assert [mixed.split_model_id(i) for i in ids] == [
        (mixed.symbols[i], mixed.languages[lang]) for i, lang in zip(seg.ids, langs)]
    english = Frontend.from_config({"kind": "phonemes", "symbols": default_symbols("phonemes"),
                                    "g2p": "espeak"})
    seg = english.segments("Hello there.")[0]
    assert english.model_ids(seg) == list(seg.ids)
    assert english.model_id(7, 0) == 7 and english.split_model_id(7) == (english.symbols[7], "en-us")


def test_exact_durations_accept_symbol_lists_with_a_language(tmp_path):
    good = {"path": "a.wav", "symbols": ["zh", "ong1", "."], "seconds": [0.1, 0.2, 0.1],
            "start": 0.0, "end": 0.4, "language": "zh"}
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(good) + "\n", encoding="utf-8")
    assert read_durations(path)["a.wav"]["symbols"] == ["zh", "ong1", "."]
    for bad in ({**good, "symbols": ["zh", ""]}, {**good, "seconds": [0.1]}, {**good, "language": 3}):
        path.write_text(json.dumps(bad) + "\n", encoding="utf-8")
        with pytest.raises(InvalidInputError):
            read_durations(path)


def test_multi_char_symbols_and_languages_to_training_ids():
    mixed = Frontend.from_config({"kind": "mixed", "symbols": default_symbols("mixed"), "g2p": "espeak"})
    n = len(mixed.symbols)
    ids, frames = symbols_to_tokens(mixed, ["zh", "ong1", "?"], [3, 5, 2], "zh")
    assert ids == [mixed.symbols.index("zh"), mixed.symbols.index("ong1"), mixed.symbols.index("?")]
    assert frames.tolist() == [3, 5, 2]
    assert symbols_to_tokens(mixed, ["zh", "ong1", "?"], [3, 5, 2])[0] == ids  # the main language
    assert symbols_to_tokens(mixed, ["zh", "ong1", "?"], [3, 5, 2], "en-us")[0] == [i + n for i in ids]
    per_token = symbols_to_tokens(mixed, ["zh", "ong1", "?"], [3, 5, 2], ["zh", "zh", "en-us"])[0]
    assert per_token == [ids[0], ids[1], ids[2] + n]
    with pytest.raises(InvalidInputError, match="fr"):
        symbols_to_tokens(mixed, ["zh"], [3], "fr")
    with pytest.raises(InvalidInputError, match="languages"):
        symbols_to_tokens(mixed, ["zh", "ong1"], [3, 3], ["zh"])


def _one_recording(tmp_path, seconds: float, text: str):
    """A corpus folder with one 220 Hz tone recording ``wavs/a.wav`` of ``text``."""
    import soundfile as sf

    data = tmp_path / "data"
    (data / "wavs").mkdir(parents=True)
    sr = 22050
    t = np.arange(int(seconds * sr)) / sr
    sf.write(str(data / "wavs" / "a.wav"), (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), sr)
    (data / "manifest.csv").write_text(f"wavs/a.wav|{text}|zf_x\n", encoding="utf-8")
    return data


def test_prepare_keeps_the_language_of_exact_durations(tmp_path):
    data = _one_recording(tmp_path, 0.8, "中国。")
    durations = tmp_path / "d.jsonl"
    durations.write_text(json.dumps({"path": "wavs/a.wav", "symbols": ["zh", "ong1", "g", "uo2", "."],
                                     "seconds": [0.1, 0.2, 0.1, 0.2, 0.1], "start": 0.05, "end": 0.75,
                                     "language": "zh"}) + "\n", encoding="utf-8")
    prepare_dataset(data, tmp_path / "out", durations=durations)
    item = json.loads((tmp_path / "out" / "metadata.jsonl").read_text(encoding="utf-8"))
    assert item["symbols"] == ["zh", "ong1", "g", "uo2", "."]
    assert item["language"] == "zh"
    assert sum(item["durations"]) == item["frames"]


def test_clone_rehearsal_of_a_two_language_voice_keeps_symbols_and_languages(tmp_path):
    """A clone onto a bilingual voice rehearses its speakers in both languages: the records
    hold symbols and per-token languages (model ids carry the language; they are no symbol
    indices), and training reads them back to the same model ids."""
    from types import SimpleNamespace

    from ttsengine.training.clone import add_rehearsal, token_symbols

    mixed = Frontend.from_config({"kind": "mixed", "symbols": default_symbols("mixed"), "g2p": "espeak"})
    n = len(mixed.symbols)
    torch.manual_seed(0)
    model = AcousticModel(acoustic_config("tiny", n_symbols=n, n_speakers=2, n_languages=2)).eval()
    ids = mixed.model_ids(mixed.segments("我用 phone 打电话。")[0])
    assert max(ids) >= n  # English tokens: ids beyond the symbol table
    record = token_symbols(mixed, ids)
    assert symbols_to_tokens(mixed, record["symbols"], [1] * len(ids), record["languages"])[0] == ids

    prepared = tmp_path / "prepared"
    (prepared / "mels").mkdir(parents=True)
    (prepared / "pitch").mkdir()
    (prepared / "prepare.json").write_text(json.dumps({"speakers": ["new"]}), encoding="utf-8")
    (prepared / "metadata.jsonl").write_text(json.dumps(
        {"id": "a", "text": "我用 phone 打电话。", "speaker": "new", "frames": 80, "seconds": 0.9}) + "\n",
        encoding="utf-8")
    base = SimpleNamespace(speakers={"af_x": 0, "zf_x": 1}, acoustic={},
                           features={"sample_rate": 22050, "hop_length": 256, "n_mels": 80, "fmax": 8000})
    assert add_rehearsal(base, model, mixed, prepared, 2.0) == 2
    rows = [json.loads(line) for line in (prepared / "metadata.jsonl").read_text(encoding="utf-8").splitlines()]
    rehearsed = [r for r in rows if r["id"] != "a"]
    assert {r["speaker"] for r in rehearsed} == {"af_x", "zf_x"}
    for r in rehearsed:
        assert len(r["symbols"]) == len(r["languages"]) == len(r["durations"])
        _, frames = symbols_to_tokens(mixed, r["symbols"], r["durations"], r["languages"])
        assert int(frames.sum()) == r["frames"]
        assert set(r["languages"]) <= {"zh", "en-us"}


def test_prepare_keeps_per_symbol_languages_of_a_mixed_sentence(tmp_path):
    data = _one_recording(tmp_path, 0.9, "用 go 吧。")
    record = {"path": "wavs/a.wav", "symbols": ["iong4", " ", "g", "O", " ", "b", "a5", "."],
              "seconds": [0.2, 0.0, 0.1, 0.15, 0.0, 0.05, 0.1, 0.1], "start": 0.15, "end": 0.85,
              "language": "zh", "languages": ["zh", "zh", "en-us", "en-us", "zh", "zh", "zh", "zh"]}
    durations = tmp_path / "d.jsonl"
    durations.write_text(json.dumps(record) + "\n", encoding="utf-8")
    prepare_dataset(data, tmp_path / "out", durations=durations, config=PrepareConfig(lead_in_s=0.1))
    item = json.loads((tmp_path / "out" / "metadata.jsonl").read_text(encoding="utf-8"))
    assert item["symbols"] == [" ", *record["symbols"]]  # the lead-in pause first, in the sentence's language
    assert item["languages"] == ["zh", *record["languages"]]
    assert sum(item["durations"]) == item["frames"]
    mixed = Frontend.from_config({"kind": "mixed", "symbols": default_symbols("mixed"), "g2p": "espeak"})
    n = len(mixed.symbols)
    ids = symbols_to_tokens(mixed, item["symbols"], item["durations"], item["languages"])[0]
    assert [i >= n for i in ids] == [lang == "en-us" for lang in item["languages"]]
    durations.write_text(json.dumps({**record, "languages": ["zh"]}) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="languages"):
        read_durations(durations)
