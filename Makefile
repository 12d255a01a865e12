# Thin wrapper: on a fresh Debian machine `make run` and `make test` are all the set-up needed.
BUILD      ?= build
BUILD_ASAN ?= build-asan
LISTEN     ?= 127.0.0.1:8080
DB         ?= solvd.db
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build build-asan run test test-fast clean bench fuzz install

all: build

deps:
	@./deploy/deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

$(BUILD_ASAN)/CMakeCache.txt:
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DSOLVD_SANITIZE=ON >/dev/null

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps $(BUILD_ASAN)/CMakeCache.txt
	cmake --build $(BUILD_ASAN) -j $(JOBS)

# The data sets: data/ of this tree (solvd's built-in default) unless DATA_DIR names another.
DATA_DIR   ?= $(abspath data)

run: build
	./$(BUILD)/solvd --listen $(LISTEN) --db $(DB) --data-dir $(DATA_DIR)

# Every test, twice: the release build, then the same suite under ASan + UBSan; then a short
# fuzzing run of every libFuzzer target (FUZZ_SHORT_SECONDS each, from the seed corpus).
FUZZ_SHORT_SECONDS ?= 10
test: build build-asan
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS)
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SHORT_SECONDS)

test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench:
	./deploy/deps.sh bench
	./bench/run.sh

# Installs the release build (deploy/install.cmake says where); DESTDIR stages it elsewhere:
# `make install DESTDIR=/tmp/stage`. The config goes to /etc/solvd/solvd.conf only when absent.
PREFIX     ?= /usr/local
install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

# Coverage-guided fuzzing with libFuzzer (clang, ASan + UBSan) of what a client sends: job
# bodies through the envelope and every codec (submit), the request line's method and path
# with the event streams' resume id (route), and the expression language (expr).
# FUZZ_SECONDS per target (`make test` runs FUZZ_SHORT_SECONDS); corpora grow in
# $(BUILD_FUZZ)/corpus, seeded from tests/fuzz/corpus (submit: every solver's catalog example).
BUILD_FUZZ   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS  = submit route expr
fuzz:
	./deploy/deps.sh fuzz
	cmake -S . -B $(BUILD_FUZZ) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
		-DSOLVD_SANITIZE=ON -DSOLVD_FUZZ=ON -DSOLVD_TESTS=OFF >/dev/null
	cmake --build $(BUILD_FUZZ) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	for t in $(FUZZ_TARGETS); do \
		mkdir -p $(BUILD_FUZZ)/corpus/$$t && cp -n tests/fuzz/corpus/$$t/* $(BUILD_FUZZ)/corpus/$$t/; \
		./$(BUILD_FUZZ)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
			$(BUILD_FUZZ)/corpus/$$t || exit 1; \
	done

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
