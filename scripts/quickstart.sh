#!/usr/bin/env bash
# Quick start: installs what is missing (Debian 12, as root), builds
# predictd, and serves the bundled demo model (the seed's iris
# RandomForestClassifier, made by scripts/make_demo_model.py) on port 8080.
# Extra arguments go to predictd, e.g. --port 9000 or --model other.pkl.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -d build ] || meson setup build >/dev/null
meson compile -C build >/dev/null
exec build/predictd --model models/iris_rf.pkl --port 8080 "$@"
