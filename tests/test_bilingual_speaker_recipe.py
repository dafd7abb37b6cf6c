"""The cross-language speaker pieces of the bilingual recipe: Kokoro reading either language
(``benchmarks/clone_targets.kokoro``), the sentence plan of ``recipes/bilingual/make_kokoro.py``
and ``make_base.merge_prepared`` keeping each utterance's own language."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import clone_targets  # noqa: E402


def load_recipe(name: str):
    spec = importlib.util.spec_from_file_location(f"recipe_{name}", ROOT / "recipes" / "bilingual" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_kokoro_refuses_other_languages_before_loading_anything():
    with pytest.raises(ValueError, match="'zh' or 'en'"):
        clone_targets.kokoro("jf_alpha", "ja")


def test_sentence_plan_interleaves_languages_and_offsets(tmp_path):
    make_kokoro = load_recipe("make_kokoro")
    rows = [f"wavs/{i:05d}.wav|English sentence {i}.|hibari_heart" for i in range(100)]
    (tmp_path / "manifest.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    plan = make_kokoro.sentences(tmp_path, english=3, mandarin=2, offset=0)
    assert [lang for lang, _ in plan] == ["en", "zh", "en", "zh", "en"]
    assert [text for lang, text in plan if lang == "en"] == [
        "English sentence 0.", "English sentence 33.", "English sentence 66."]
    zh = [text for lang, text in plan if lang == "zh"]
    assert all(any("\u4e00" <= c <= "\u9fff" for c in t) for t in zh) and len(set(zh)) == 2
    other = make_kokoro.sentences(tmp_path, english=3, mandarin=2, offset=7)
    assert not {t for _, t in other} & {t for _, t in plan}


def _prepared(folder: Path, speaker: str, items: list[dict]) -> Path:
    folder.mkdir(parents=True)
    (folder / "mels").mkdir()
    (folder / "prepare.json").write_text(json.dumps({
        "features": {"sample_rate": 22050}, "speakers": [speaker],
        "pitch_stats": {speaker: {"log_f0_mean": 5.0, "log_f0_std": 0.2}}}), encoding="utf-8")
    for it in items:
        np.save(folder / "mels" / f"{it['id']}.npy", np.zeros((80, 4), np.float32))
    (folder / "metadata.jsonl").write_text("".join(json.dumps(it) + "\n" for it in items), encoding="utf-8")
    return folder


def test_merge_keeps_each_utterance_language_and_repeats(tmp_path):
    pytest.importorskip("torch")
    make_base = load_recipe("make_base")
    en = _prepared(tmp_path / "en", "speaker0", [{"id": "a", "text": "Hi.", "frames": 4}])
    both = _prepared(tmp_path / "kk", "jf_x", [
        {"id": "0000", "text": "Hi.", "frames": 4, "languages": ["en-us"]},
        {"id": "0001", "text": "你好。", "frames": 4, "languages": ["zh"]}])
    out = tmp_path / "merged"
    make_base.merge_prepared([(en, "en", "af_heart", "en-us"), (both, "jf_x0_", "jf_x", None),
                              (both, "jf_x1_", "jf_x", None)], out)
    items = [json.loads(line) for line in (out / "metadata.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [it["id"] for it in items] == ["ena", "jf_x0_0000", "jf_x0_0001", "jf_x1_0000", "jf_x1_0001"]
    assert items[0]["language"] == "en-us"
    assert all("language" not in it and it["speaker"] == "jf_x" for it in items[1:])
    assert (out / "mels" / "jf_x1_0001.npy").is_file()
    info = json.loads((out / "prepare.json").read_text(encoding="utf-8"))
    assert info["speakers"] == ["af_heart", "jf_x"]


def test_crosslingual_table_rows():
    import crosslingual

    e = np.eye(3, dtype=np.float32)
    emb = {("a", "en"): e[[0, 0]], ("a", "zh"): e[[0, 1]], ("b", "en"): e[[2, 2]], ("b", "zh"): e[[0, 0]]}
    rows = crosslingual.table(emb, ["a", "b"])
    assert rows["a"]["self_en_zh"] == pytest.approx(0.5)  # [0,0] vs [0,1]: 1, 0, 1, 0
    assert rows["a"]["others_en"] == pytest.approx(0.0)
    assert rows["a"]["others_en_zh"] == pytest.approx(1.0)  # a's English against b's Mandarin
    assert rows["b"]["others_en_zh"] == pytest.approx(0.0)
    assert rows["b"]["self_zh_zh"] == pytest.approx(1.0)
