# rill: the two commands a newcomer needs, plus a few more.
#   make run    installs missing Debian packages (as root; else names them), builds
#               in Release and runs WordCount on the bundled text.
#   make test   builds (Debug) and runs the whole cmocka suite through ctest.
#   make bench  builds in Release and runs the benchmark suite (QUICK=1: under a minute;
#               CHECKPOINTS=1: the checkpoint section alone; NEXMARK=1: the Nexmark section).
#   make docs   regenerates the diagrams under docs/.
#   make sanitize  runs the suite under AddressSanitizer + UndefinedBehaviorSanitizer.
#   make install   installs the build (PREFIX=DIR for another prefix).
#   make fuzz   runs each libFuzzer target for FUZZ_SECONDS (default 120) over its corpus.
#   make tsan   runs the suite under ThreadSanitizer.

PACKAGES := build-essential cmake pkg-config libzmq3-dev libczmq-dev libgraphviz-dev \
            libcmocka-dev libxxhash-dev libjansson-dev libxml2-dev \
            librdkafka-dev
SHELL    := /bin/bash
.SHELLFLAGS := -o pipefail -c
JOBS     ?= 2
BUILD    ?= build
CMAKE_FLAGS ?=

.PHONY: all deps build run test bench docs sanitize clean install fuzz-build fuzz tsan

all: build

deps:
	@./tools/install-deps.sh $(PACKAGES)

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS) --target rill_tool jobs

# sed, not head: head exits after 20 lines and, with pipefail, sort's SIGPIPE would fail the run.
run: build
	@echo "rill: WordCount at parallelism 2 on data/declaration-of-independence.txt, 20 most frequent words:"
	@./$(BUILD)/bin/rill run wordcount -p 2 -- --input data/declaration-of-independence.txt | sort -t "$$(printf '\t')" -k2,2nr -k1,1 | sed -n 1,20p

# Chromium opens the HTML report in one test; without it that check is skipped, saying so.
TEST_PACKAGES := chromium
# test_cluster starts jobs across processes with Open MPI's mpirun: required, never skipped.
CLUSTER_PACKAGES := openmpi-bin

# The fuzz targets and ThreadSanitizer need clang and its sanitizer runtimes (libFuzzer).
CLANG_PACKAGES := clang libclang-rt-14-dev
FUZZ_SECONDS ?= 120

# The suite, then each fuzz target briefly over its committed corpus (label fuzz, clang build).
test: deps fuzz-build
	@./tools/install-deps.sh --optional $(TEST_PACKAGES)
	@./tools/install-deps.sh $(CLUSTER_PACKAGES)
	cmake -S . -B $(BUILD)-test -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD)-test -j $(JOBS)
	cd $(BUILD)-test && ctest --output-on-failure -j $(JOBS)
	cd $(BUILD)-fuzz && ctest --output-on-failure -j $(JOBS) -L fuzz

fuzz-build: deps
	@./tools/install-deps.sh $(CLANG_PACKAGES)
	CC=clang cmake -S . -B $(BUILD)-fuzz -DCMAKE_BUILD_TYPE=Debug -DRILL_FUZZ=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD)-fuzz -j $(JOBS) --target fuzz_targets

# Each target for FUZZ_SECONDS, growing its working corpus in $(BUILD)-fuzz/fuzz/corpus/NAME
# from the committed one; a crash lands in $(BUILD)-fuzz/fuzz/artifacts/ and fails the run
# (reproduce: run the target on that file; once fixed, commit it to tests/fuzz/corpus/NAME/).
fuzz: fuzz-build
	@cd $(BUILD)-fuzz/fuzz && mkdir -p artifacts && failed= && \
	export LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitizer.supp:print_suppressions=0 && \
	export ASAN_OPTIONS=suppressions=$(CURDIR)/tests/fuzz/asan.supp:print_suppressions=0 && \
	for target in fuzz_*; do \
	    name=$${target#fuzz_}; mkdir -p corpus/$$name; \
	    echo "rill: fuzzing $$name for $(FUZZ_SECONDS) s"; \
	    ./$$target -max_total_time=$(FUZZ_SECONDS) -close_fd_mask=3 -print_final_stats=1 \
	        -artifact_prefix=artifacts/$$name- corpus/$$name \
	        $(CURDIR)/tests/fuzz/corpus/$$name 2>&1 | { grep -v -E '^#[0-9]+' || true; } \
	        || failed="$$failed $$name"; \
	done; \
	if [ -n "$$failed" ]; then echo "rill: fuzzing found problems in:$$failed (see artifacts/)"; exit 1; fi

# The whole suite under ThreadSanitizer; tests/tsan.supp names the other libraries it ignores.
tsan: deps
	@./tools/install-deps.sh --optional $(TEST_PACKAGES)
	@./tools/install-deps.sh $(CLUSTER_PACKAGES)
	@./tools/install-deps.sh $(CLANG_PACKAGES)
	CC=clang cmake -S . -B $(BUILD)-tsan -DCMAKE_BUILD_TYPE=Debug -DRILL_TSAN=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD)-tsan -j $(JOBS)
	cd $(BUILD)-tsan && ctest --output-on-failure -j $(JOBS)

sanitize: deps
	@./tools/install-deps.sh $(CLUSTER_PACKAGES)
	cmake -S . -B $(BUILD)-san -DCMAKE_BUILD_TYPE=Debug -DRILL_SANITIZE=ON >/dev/null
	cmake --build $(BUILD)-san -j $(JOBS)
	cd $(BUILD)-san && ctest --output-on-failure -j $(JOBS)

bench: build
	cmake --build $(BUILD) -j $(JOBS) --target rill_bench
	./$(BUILD)/bin/rill-bench $(if $(QUICK),--quick,) $(if $(CHECKPOINTS),--checkpoints,) $(if $(CLUSTER),--cluster,) $(if $(DIAGNOSTICS),--diagnostics,) $(if $(NEXMARK),--nexmark,)

docs: build
	./tools/make-docs.sh $(BUILD)/bin/rill docs

# PREFIX=DIR installs there instead of the configured prefix (default /usr/local); an
# install is relocatable, so the folder can be moved later.
install: build
	cmake --install $(BUILD) $(if $(PREFIX),--prefix '$(PREFIX)',)

clean:
	rm -rf $(BUILD) $(BUILD)-test $(BUILD)-san $(BUILD)-fuzz $(BUILD)-tsan
