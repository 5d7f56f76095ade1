# The launcher's targets; the Makefile includes this file (`include launcher/launcher.mk`).
# Backend: GREGORY_BACKEND=local|kubernetes, else Kubernetes when a kubeconfig or in-cluster
# config exists, else local. The values reach gregory-launch as shell variables, never pasted
# into the command line, so a slug cannot smuggle shell syntax in. Recipes start with @: the
# operator reads the launcher's output, not the shell's expansion of its command line.
LAUNCH := $(VENV)/bin/gregory-launch

.PHONY: train tui status

train: export GREGORY_MAKE_TEAM = $(TEAM)
train: export GREGORY_MAKE_SUBJECT = $(SUBJECT)
train: export GREGORY_MAKE_ALGO = $(ALGO)
train: setup var tiny-models
	@test -n "$$GREGORY_MAKE_TEAM" || { echo "usage: make train TEAM=<slug> [SUBJECT=<slug>] [ALGO=a,b]" >&2; exit 2; }
	@$(LAUNCH) submit --follow --team "$$GREGORY_MAKE_TEAM" \
		$${GREGORY_MAKE_SUBJECT:+--subject "$$GREGORY_MAKE_SUBJECT"} \
		$${GREGORY_MAKE_ALGO:+--algo "$$GREGORY_MAKE_ALGO"}

tui: setup var tiny-models
	@$(LAUNCH) tui

status: setup
	@$(LAUNCH) status

# Screenshots of the main screens for docs/ from the snapshot tests' data (SVG from Textual's
# save_screenshot; PNG beside them where rsvg-convert is installed).
SCREENSHOTS := docs/screenshots

.PHONY: screenshots
screenshots: setup
	GREGORY_SCREENSHOTS_DIR="$(CURDIR)/$(SCREENSHOTS)" $(PY) -m pytest -q -p no:cacheprovider \
		tests/launcher/test_screenshots.py
	@if command -v rsvg-convert >/dev/null 2>&1; then \
		for svg in $(SCREENSHOTS)/*.svg; do rsvg-convert "$$svg" -o "$${svg%.svg}.png"; done; \
	else echo "no rsvg-convert here: $(SCREENSHOTS) holds SVGs only" >&2; fi
