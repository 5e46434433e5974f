# Heshen build. `make run` builds and starts the appliance; `make test` runs every test.
SHELL := /bin/bash
GO ?= go
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian packages the build and the tests need.
DEB_PACKAGES := build-essential pkg-config libopencv-dev libavcodec-dev libavutil-dev libswscale-dev \
	ffmpeg chromium fonts-wqy-microhei ca-certificates curl

MODELS_PKG := faceplugin-face-recognition-js
MODELS_VER := 0.0.1
MODELS_TGZ := models/$(MODELS_PKG)-$(MODELS_VER).tgz
MODEL_DIR  := engine/vision/models
MODEL_FILES := fr_detect fr_landmark fr_feature fr_liveness fr_eye fr_pose
MODEL_ONNX := $(addprefix $(MODEL_DIR)/,$(addsuffix .onnx,$(MODEL_FILES)))

# Tests find the shared face sets and video here (the checkout's sibling shared/testdata by default).
HESHEN_TESTDATA ?= $(firstword $(wildcard $(abspath ../shared/testdata)) /work/shared/testdata)
export HESHEN_TESTDATA

.PHONY: all deps models build run test test-short bench clean lint

all: build

# Installs only what is missing, so a second run does nothing.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	else echo "deps: all installed"; fi
	@command -v npm >/dev/null || { $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm; }

# Fetches the model package with npm, checks its pinned sha256, extracts the ONNX files.
models: $(MODEL_ONNX)

$(MODELS_TGZ):
	cd models && npm pack --silent $(MODELS_PKG)@$(MODELS_VER) >/dev/null
	cd models && sha256sum -c faceplugin.sha256

$(MODEL_ONNX) &: $(MODELS_TGZ)
	cd models && sha256sum -c --quiet faceplugin.sha256
	mkdir -p $(MODEL_DIR) models/package
	tar -xzf $(MODELS_TGZ) -C models $(addprefix package/model/,$(addsuffix .onnx,$(MODEL_FILES)))
	cp $(addprefix models/package/model/,$(addsuffix .onnx,$(MODEL_FILES))) $(MODEL_DIR)/
	touch $(MODEL_ONNX)

build: models
	$(GO) build -trimpath -ldflags "-X main.version=$$(git describe --always --dirty 2>/dev/null || echo dev)" -o bin/heshen .

run: deps build
	bin/heshen serve

# Every test: unit, integration with the real models, the Mat leak check under gocv's matprofile tag.
test: models
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 60m ./...
	$(GO) test -count=1 -tags matprofile -run MatProfile ./engine/vision/

test-short: models
	$(GO) test -short -count=1 ./...

bench: models
	$(GO) test -run '^$$' -bench . -benchtime 20x ./engine/vision/

# engine's root must not import any adapter library.
lint:
	@! $(GO) list -deps ./engine | grep -E 'fiber|bbolt|bleve|pion|gocv' || { echo "engine imports an adapter"; exit 1; }

clean:
	rm -rf bin $(MODEL_DIR)/*.onnx models/package $(MODELS_TGZ)
