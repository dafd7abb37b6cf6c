"""Writes the shipped ``bilingual`` bundle's graphs again after its networks changed in place
(e.g. ``recipes/cpu_vocoder/variance_postfilter.py ttsengine/voices/bilingual --scale 1.0 1.3``,
which removes them): fp16-stored weights, ONNX graphs linked to the safetensors, HiFi-GAN V1
shared with the default voice (as ``ship.py`` leaves it). voice.json's names, speakers, terms,
LICENSES/ and MODEL_CARD.md are kept. ``--acoustic RUN`` first takes the acoustic model of a
``ttsengine train`` run that continued from the bundle (its weights, its ``acoustic`` section
and its ``training`` record; the speaker table must be the bundle's).

    python recipes/bilingual/reexport.py [ttsengine/voices/bilingual] [--acoustic /work/data/bi/r11]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from ship import ROOT, share_default_vocoder


def take_acoustic(run: Path, bundle: Path) -> None:
    """Copies ``run``'s acoustic weights, ``acoustic`` section and ``training`` record into
    ``bundle`` (same architecture and speaker rows, else SystemExit)."""
    trained = json.loads((run / "voice.json").read_text(encoding="utf-8"))
    content = json.loads((bundle / "voice.json").read_text(encoding="utf-8"))
    if trained["acoustic"]["hparams"] != content["acoustic"]["hparams"]:
        raise SystemExit(f"{run}: its acoustic hparams differ from {bundle}'s")
    if any(trained["speakers"].get(name) != row for name, row in content["speakers"].items()):
        raise SystemExit(f"{run}: its speaker rows differ from {bundle}'s")
    weights = content["acoustic"].get("weights")
    shutil.copy2(run / trained["acoustic"].get("weights", "acoustic.safetensors"),
                 bundle / (weights or "acoustic.safetensors"))
    content["acoustic"] = {**trained["acoustic"], **({"weights": weights} if weights else {})}
    content["training"] = trained["training"]
    (bundle / "voice.json").write_text(json.dumps(content, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("voice", type=Path, nargs="?", default=ROOT / "ttsengine" / "voices" / "bilingual")
    ap.add_argument("--acoustic", type=Path, default=None,
                    help="a trained run (bundle folder) whose acoustic model replaces the bundle's")
    args = ap.parse_args()

    from ttsengine.export.link_weights import link_graph_weights
    from ttsengine.export.onnx_export import export_voice
    from ttsengine.voice.config import load_voice
    from ttsengine.voice.feature_stamp import stamp_safetensors, stamp_value

    out = args.voice.resolve()
    if args.acoustic is not None:
        take_acoustic(args.acoustic, out)
    with tempfile.TemporaryDirectory() as tmp:
        # a copy that owns its HiFi-GAN weights: exporting must not rewrite the default voice's file
        work = Path(tmp) / "voice"
        shutil.copytree(out, work, ignore=shutil.ignore_patterns("onnx", "LICENSES", "MODEL_CARD.md"))
        content = json.loads((work / "voice.json").read_text(encoding="utf-8"))
        shutil.copy2(load_voice(out).vocoder_weights, work / "vocoder.safetensors")
        content["vocoder"]["weights"] = "vocoder.safetensors"
        content.pop("onnx", None)
        (work / "voice.json").write_text(json.dumps(content, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        export_voice(work, out, weights="fp16", force=True)
    shipped = load_voice(out)
    for name in ("acoustic.safetensors", "cpu_vocoder.safetensors"):  # before the graphs link to them
        if (out / name).is_file():
            stamp_safetensors(out / name, stamp_value(shipped.features, shipped.model_sample_rate))
    for graph in shipped.onnx.get("graphs", {}):  # each network's weights stored once
        saved = link_graph_weights(out, graph)
        print(f"onnx/{graph}: {saved / 1e6:.1f} MB of weights now read from its safetensors file")
    share_default_vocoder(out)
    print(f"re-exported {out}")


if __name__ == "__main__":
    main()
