#!/usr/bin/env bash
# Every weighting's three distillation rounds at once on a lent GPU machine (the device tool),
# from the bundle that `python -m soundstep_factory.gpu_bundle pack --out ../.devbundle` wrote.
# Run from the repository root there, with .devbundle and .whl (diffusers 0.31.0 and
# importlib_metadata; it runs on that machine's huggingface_hub 1.x) carried; the students
# come back under $OUT. TRAIN_TEACHER=1 (with `gpu_bundle pack --train-teacher`) trains the teacher
# there first and returns it too. Fetch the wheels here, once:
#   factory/.venv/bin/python -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#       --platform manylinux2014_x86_64 -d .whl diffusers==0.31.0 importlib_metadata
set -euo pipefail
rm -rf /tmp/site  # a warm machine keeps the last call's files
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 SOUNDSTEP_WORK=/tmp/work SOUNDSTEP_THREADS=2
cd factory
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -m soundstep_factory.gpu_bundle unpack --bundle ../.devbundle
if [ "${TRAIN_TEACHER:-0}" = 1 ]; then  # a bundle packed with --train-teacher: the teacher first
  python3 -m soundstep_factory.train --stage teacher --device cuda > /tmp/teacher.log 2>&1
  tail -n 2 /tmp/teacher.log
fi
methods=${METHODS:-bsa snr-trunc snr+1 min-snr eps}
for m in $methods; do
  timeout "${DISTILL_SECONDS:-480}" python3 -m soundstep_factory.distill --method "$m" --device cuda > "/tmp/distill-$m.log" 2>&1 &
done
wait || true
tail -n 3 /tmp/distill-*.log
cat /tmp/distill-*.log > "$OUT/distill-logs.txt"  # one file: at most 8 come back
collect_teacher=(); [ "${TRAIN_TEACHER:-0}" = 1 ] && collect_teacher=(--with-teacher)
python3 -m soundstep_factory.gpu_bundle collect --out "$OUT" "${collect_teacher[@]}"
