#!/usr/bin/env bash
# One call on a lent GPU machine (see ../shared/ENVIRONMENT.md): build ttsengine with _cuda
# for the machine's own Python, print `ttsengine info`, run the GPU tests, then the GPU
# benchmark. Runtime dependencies the machine lacks travel as wheels in .whl/ (carry it).
#   bash benchmarks/gpu_check.sh
set -euo pipefail
repo=$(pwd)
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi
TTSENGINE_CUDA=ON TTSENGINE_CUDA_ARCHITECTURES=90 \
  python3 -m pip install -q --no-build-isolation --no-deps --target /tmp/tts "$repo"
export PYTHONPATH=/tmp/tts:${PYTHONPATH:-}
cd /tmp  # never import the source tree
python3 -m ttsengine info
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
python3 -m pytest -q -p no:cacheprovider --rootdir "$repo" -c "$repo/pyproject.toml" \
  "$repo/tests/test_cuda.py" "$repo/tests/test_torch_graphs.py" "$repo/tests/test_native_build.py" \
  "$repo/tests/test_workspace.py" "$repo/tests/test_synthesizer.py" -rs || echo "GPU TESTS FAILED: rc=$?"
python3 "$repo/benchmarks/gpu_rtf.py"
