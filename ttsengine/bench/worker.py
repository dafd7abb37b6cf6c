"""Worker process of an isolated benchmark: ``python -m ttsengine.bench.worker PAYLOAD.json``.

Runs one configuration (:func:`ttsengine.bench.runner.run_config`) and reports on stdout:
a progress line per finished step and one result line (JSON), each behind a marker so
that anything else printed by a runtime is ignored.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    from .runner import ConfigSpec, run_config
    from .suite import PROGRESS_MARK, RESULT_MARK, plan_from_dict, texts_from_dict

    args = sys.argv[1:] if argv is None else argv
    payload = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    logging.basicConfig(level=logging.WARNING, format="ttsengine: %(levelname)s: %(message)s")

    def step(name: str) -> None:
        print(PROGRESS_MARK + name, flush=True)

    result = run_config(ConfigSpec.from_dict(payload["spec"]), plan_from_dict(payload["plan"]),
                        texts_from_dict(payload["texts"]), progress=step, isolated=True)
    print(RESULT_MARK + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
