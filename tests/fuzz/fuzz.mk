# tests/fuzz/fuzz.mk -- libFuzzer targets, one per parser (included by the
# top Makefile).
#
#   make fuzz                   build every target, run each FUZZ_SECONDS (10)
#                               on a scratch copy of its seed corpus; fails on
#                               any crash, leak, sanitizer report or broken
#                               invariant
#   make fuzz-build             only build them
#   make fuzz-run-form ...      run one (FUZZ_FLAGS= adds libFuzzer flags)
#   make fuzz-replay-worker     send fuzz_fcgi's corpus (the seeds and what
#                               its last run found) to a real worker
#                               program over its socket, one input after
#                               another (fuzz_worker -runs=0)
#
# Everything goes under $(FUZZ_BUILD): lib/ built again with clang,
# ASan+UBSan and libFuzzer's coverage ($(FUZZ_BUILD)/cov), and with it the
# worker's request path (fcgi/ but main.c) for fuzz_fcgi; the worker program
# built by the rules above with SAN=1 for fuzz_worker
# ($(FUZZ_BUILD)/worker); the targets; and per run the corpus, the log and
# any crash artifact ($(FUZZ_BUILD)/run/<target>/).

FUZZ_SECONDS	?= 10
FUZZ_BUILD	?= build-fuzz
FUZZ_CC		?= clang
FUZZ_FLAGS	?=
FUZZ_TARGETS	 = form sess params jsonx wxreply decrypt req multipart fcgi

FUZZ_SAN	 = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS	 = -std=c11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer \
		   $(FUZZ_SAN) $(WARN) -Ilib -Ifcgi $(PKG_CFLAGS)
FUZZ_LIB_OBJ	 = $(LIB_SRC:%.c=$(FUZZ_BUILD)/cov/%.o)
FUZZ_SERVE_OBJ	 = $(filter-out $(FUZZ_BUILD)/cov/fcgi/main.o, \
		   $(FCGI_SRC:%.c=$(FUZZ_BUILD)/cov/%.o))
FUZZ_BIN	 = $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%) $(FUZZ_BUILD)/fuzz_worker
FUZZ_WORKER	 = $(FUZZ_BUILD)/worker/wxauth
FUZZ_RUNS	 = $(FUZZ_TARGETS:%=fuzz-run-%)

# libFuzzer flags of each target (beyond the common ones below).
FUZZ_OPT_form	 = -max_len=4096
FUZZ_OPT_sess	 = -max_len=4096
FUZZ_OPT_params	 = -max_len=8192
FUZZ_OPT_jsonx	 = -max_len=8192
FUZZ_OPT_wxreply = -max_len=8192
FUZZ_OPT_decrypt = -max_len=12288
FUZZ_OPT_req	 = -max_len=4096
FUZZ_OPT_multipart = -max_len=8192
FUZZ_OPT_fcgi	 = -max_len=16384 -timeout=30 -detect_leaks=0
FUZZ_OPT_worker	 = -max_len=16384 -timeout=60

.PHONY: fuzz-build fuzz-worker fuzz-replay-worker $(FUZZ_RUNS)

$(FUZZ_BUILD)/cov/%.o: %.c $(wildcard lib/*.h fcgi/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/cov/libwxauth.a: $(FUZZ_LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h \
    $(FUZZ_BUILD)/cov/libwxauth.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
	    $(FUZZ_BUILD)/cov/libwxauth.a -Wl,--as-needed $(LIBS)

# fuzz_fcgi runs the worker's request path in its own process.
$(FUZZ_BUILD)/fuzz_fcgi: tests/fuzz/fuzz_fcgi.c tests/fuzz/fuzz.h \
    tests/fuzz/fcgi_model.h $(FUZZ_SERVE_OBJ) $(FUZZ_BUILD)/cov/libwxauth.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
	    $(FUZZ_SERVE_OBJ) $(FUZZ_BUILD)/cov/libwxauth.a -Wl,--as-needed \
	    $(LIBS)

$(FUZZ_BUILD)/fuzz_worker: tests/fuzz/fcgi_model.h

# The worker fuzz_worker talks to: the program as `make` builds it, with
# SAN=1 (ASan+UBSan) and clang, in a directory of its own.
fuzz-worker:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD)/worker SAN=1 \
	    CC=$(FUZZ_CC) $(FUZZ_WORKER)

fuzz-build: $(FUZZ_BIN) fuzz-worker

# One run: a fresh copy of the seeds (the checkout stays as it is), the
# target's dictionary, final stats in the log; a failure leaves FAILED.
$(FUZZ_RUNS): fuzz-run-%: $(FUZZ_BUILD)/fuzz_%
	@d=$(FUZZ_BUILD)/run/$*; rm -rf $$d; mkdir -p $$d/corpus; \
	cp tests/fuzz/corpus/$*/* $$d/corpus/; \
	echo "fuzz_$*: running $(FUZZ_SECONDS) s"; \
	if WXAUTH_FUZZ_WORKER=$(FUZZ_WORKER) WXAUTH_FUZZ_DIR=$$d \
	    $(FUZZ_BUILD)/fuzz_$* -max_total_time=$(FUZZ_SECONDS) \
	    -print_final_stats=1 -dict=tests/fuzz/$*.dict \
	    -artifact_prefix=$$d/ $(FUZZ_OPT_$*) $(FUZZ_FLAGS) $$d/corpus \
	    > $$d/log 2>&1; then \
		echo "fuzz_$*: ok, $$(sed -n 's/^stat::number_of_executed_units: *//p' $$d/log) runs"; \
	else \
		touch $$d/FAILED; echo "fuzz_$*: FAILED (log: $$d/log)"; \
		tail -n 40 $$d/log; \
	fi

# The real worker program over its socket, sent every input of fuzz_fcgi's
# corpus: its seeds and, after fuzz-run-fcgi, what that run kept.
fuzz-replay-worker: $(FUZZ_BUILD)/fuzz_worker fuzz-worker
	@d=$(FUZZ_BUILD)/run/worker; rm -rf $$d; mkdir -p $$d; \
	c=$(FUZZ_BUILD)/run/fcgi/corpus; [ -d $$c ] || c=tests/fuzz/corpus/fcgi; \
	echo "fuzz_worker: replaying $$(ls $$c | wc -l) inputs of $$c"; \
	if WXAUTH_FUZZ_WORKER=$(FUZZ_WORKER) WXAUTH_FUZZ_DIR=$$d \
	    $(FUZZ_BUILD)/fuzz_worker -runs=0 -print_final_stats=1 \
	    $(FUZZ_OPT_worker) $(FUZZ_FLAGS) $$c > $$d/log 2>&1; then \
		echo "fuzz_worker: ok, $$(sed -n 's/^fuzz_worker: //p' $$d/log | tail -n 1)"; \
	else \
		touch $$d/FAILED; echo "fuzz_worker: FAILED (log: $$d/log)"; \
		tail -n 40 $$d/log; \
	fi

fuzz: $(FUZZ_RUNS)
	@$(MAKE) --no-print-directory fuzz-replay-worker
	@failed=""; for t in $(FUZZ_TARGETS) worker; do \
	    [ -e $(FUZZ_BUILD)/run/$$t/FAILED ] && failed="$$failed fuzz_$$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "make fuzz: FAILED:$$failed"; exit 1; fi; \
	echo "make fuzz: all $(words $(FUZZ_TARGETS)) targets ran $(FUZZ_SECONDS) s without a finding; the worker took fuzz_fcgi's corpus"
