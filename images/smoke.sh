#!/usr/bin/env bash
# Smoke test of the CPU training image (make image-smoke): train the demo team with LightGBM in
# the container, exactly as the cluster runs it (non-root, read-only root, no network, all
# capabilities dropped; no model hub, so no summariser), then check the published artifacts and the PredictionRunLog row on the host.
set -euo pipefail
: "${IMAGE:?}" "${PY:=.venv/bin/python}" "${DOCKER:=docker}"
WORK=$(pwd)/var/image-smoke
rm -rf "$WORK"
mkdir -p "$WORK/data" "$WORK/models"
export DATABASE_URL="sqlite:///$WORK/data/gregory.sqlite3"
"$PY" job/manage.py migrate --verbosity 0
"$PY" job/manage.py demo_data --out "$WORK/demo_articles.csv"
"$PY" job/manage.py import_articles --create --team demo --subject ms-research "$WORK/demo_articles.csv"
# The container runs as uid 10001; SQLite also writes its journal next to the database file.
chmod 0777 "$WORK/data" "$WORK/models"
chmod 0666 "$WORK/data/gregory.sqlite3"
started=$(date +%s)
"$DOCKER" run --rm --network none --read-only --tmpfs /tmp:rw,size=1g \
  --cap-drop ALL --security-opt no-new-privileges \
  -v "$WORK/data:/data" -v "$WORK/models:/models" \
  -e DATABASE_URL=sqlite:////data/gregory.sqlite3 \
  -e GREGORY_TRIGGERED_BY=image-smoke -e GREGORY_SUMMARISER=off -e HF_HUB_OFFLINE=1 \
  "$IMAGE" train_models --team demo --algo lgbm_tfidf --verbose 2
echo "train_models in the container: $(($(date +%s) - started)) s"
"$PY" images/smoke_check.py "$WORK/models" demo ms-research lgbm_tfidf image-smoke
