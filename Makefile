# rill: the two commands a newcomer needs, plus a few more.
#   make run    installs missing Debian packages (as root; else names them), builds
#               in Release and runs WordCount on the bundled text.
#   make test   builds (Debug) and runs the whole cmocka suite through ctest.
#   make bench  builds in Release and runs the benchmark suite (QUICK=1: under a minute).
#   make docs   regenerates the diagrams under docs/.
#   make sanitize  runs the suite under AddressSanitizer + UndefinedBehaviorSanitizer.
#   make install   installs the build (PREFIX=DIR for another prefix).

PACKAGES := build-essential cmake pkg-config libzmq3-dev libczmq-dev libgraphviz-dev \
            libcmocka-dev libxxhash-dev libjansson-dev libxml2-dev
SHELL    := /bin/bash
.SHELLFLAGS := -o pipefail -c
JOBS     ?= 2
BUILD    ?= build
CMAKE_FLAGS ?=

.PHONY: all deps build run test bench docs sanitize clean install

all: build

deps:
	@./tools/install-deps.sh $(PACKAGES)

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS) --target rill_tool jobs

run: build
	@echo "rill: WordCount at parallelism 2 on data/declaration-of-independence.txt, 20 most frequent words:"
	@./$(BUILD)/bin/rill run wordcount -p 2 -- --input data/declaration-of-independence.txt | sort -t "$$(printf '\t')" -k2,2nr -k1,1 | head -n 20

# Chromium opens the HTML report in one test; without it that check is skipped, saying so.
TEST_PACKAGES := chromium

test: deps
	@./tools/install-deps.sh --optional $(TEST_PACKAGES)
	cmake -S . -B $(BUILD)-test -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD)-test -j $(JOBS)
	cd $(BUILD)-test && ctest --output-on-failure -j $(JOBS)

sanitize: deps
	cmake -S . -B $(BUILD)-san -DCMAKE_BUILD_TYPE=Debug -DRILL_SANITIZE=ON >/dev/null
	cmake --build $(BUILD)-san -j $(JOBS)
	cd $(BUILD)-san && ctest --output-on-failure -j $(JOBS)

bench: build
	cmake --build $(BUILD) -j $(JOBS) --target rill_bench
	./$(BUILD)/bin/rill-bench $(if $(QUICK),--quick,)

docs: build
	./tools/make-docs.sh $(BUILD)/bin/rill docs

# PREFIX=DIR installs there instead of the configured prefix (default /usr/local); an
# install is relocatable, so the folder can be moved later.
install: build
	cmake --install $(BUILD) $(if $(PREFIX),--prefix '$(PREFIX)',)

clean:
	rm -rf $(BUILD) $(BUILD)-test $(BUILD)-san
