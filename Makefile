# wxauth -- WeChat mini program login backend (FastCGI, C).
#
#   make            build build/wxauth
#   make run        install what is missing, build, and serve on 127.0.0.1:$(PORT)
#                   behind WEB=nginx (default), lighttpd or apache
#   make test       the same set-up, then every test (unit, unit under
#                   ASan+UBSan, integration through the real stack)
#   make unit       unit tests only;  make asan-unit  the same under sanitizers
#   make clean
#
# Overrides go in Makefile.local (not tracked).

CC	?= cc
PYTHON	?= /usr/bin/python3
PORT	?= 8080
WEB	?= nginx
BUILD	?= build
SAN	?=

PKGS	 = libcurl json-c libpq
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN	 = -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wpointer-arith \
	   -Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations \
	   -Wcast-qual -Wwrite-strings -Wvla -Wundef -Wno-unused-parameter
HARDEN	 = -fstack-protector-strong -fPIE -D_FORTIFY_SOURCE=2
OPT	 = -O2 -g
ifneq ($(SAN),)
OPT	 = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	   -fno-sanitize-recover=undefined
HARDEN	 = -fPIE
endif
CFLAGS	+= -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(HARDEN) -Ilib $(PKG_CFLAGS)
LDFLAGS	+= -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(if $(SAN),-fsanitize=address$(,)undefined)
LIBS	 = $(PKG_LIBS) -lfcgi -lmbedcrypto -lpthread
, := ,

LIB_SRC	 = $(wildcard lib/*.c)
LIB_OBJ	 = $(LIB_SRC:%.c=$(BUILD)/%.o)
FCGI_SRC = $(wildcard fcgi/*.c)
FCGI_OBJ = $(FCGI_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:%.c=$(BUILD)/%)

# make install: where Debian admins look for things.
PREFIX		?= /usr/local
BINDIR		?= $(PREFIX)/bin
SBINDIR		?= $(PREFIX)/sbin
DATADIR		?= $(PREFIX)/share
SYSCONFDIR	?= /etc
SYSTEMDDIR	?= /lib/systemd/system
DESTDIR		?=
SUBST	 = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SBINDIR@|$(SBINDIR)|g' \
	   -e 's|@DATADIR@|$(DATADIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'

-include Makefile.local

.PHONY: all deps run test bench unit asan-unit asan integration install clean fuzz
all: $(BUILD)/wxauth $(BUILD)/errors/.done

# The bodies of the errors the web server makes itself, from lib/err.c.
$(BUILD)/errors/.done: $(BUILD)/wxauth
	@mkdir -p $(dir $@)
	$(BUILD)/wxauth errpages $(BUILD)/errors
	@touch $@

$(BUILD)/%.o: %.c $(wildcard lib/*.h fcgi/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ifcgi -c -o $@ $<

$(BUILD)/libwxauth.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/wxauth: $(FCGI_OBJ) $(BUILD)/libwxauth.a
	$(CC) $(LDFLAGS) -o $@ $(FCGI_OBJ) $(BUILD)/libwxauth.a $(LIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libwxauth.a tests/unit/check.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(BUILD)/libwxauth.a $(LIBS)

deps:
	@sh deploy/install-deps.sh

unit: $(UNIT_BIN)
	@sh tests/unit/run.sh $(UNIT_BIN)

asan-unit:
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 unit

# The worker itself under ASan+UBSan, for the integration suite's sanitized run.
asan:
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 all

integration: all
	$(PYTHON) tests/integration/run.py

run: deps
	@$(MAKE) --no-print-directory all
	exec $(PYTHON) deploy/dev/devstack.py run --port $(PORT) --web $(WEB)

test: deps
	@$(MAKE) --no-print-directory all
	@$(PYTHON) tests/run_all.py

# The benchmark: the stack as `make run` starts it, wrk, and the floor
# (tests/bench/floor.c) under the same pool and web server; writes
# docs/PERFORMANCE.md and its plots.  BENCH_QUICK=1: a short run.
$(BUILD)/tests/bench/floor: tests/bench/floor.c $(BUILD)/libwxauth.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libwxauth.a $(LIBS)

$(BUILD)/tests/bench/wxbench: tests/bench/wxbench.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(PKG_LIBS) -lmbedtls -lmbedx509 \
	    -lmbedcrypto -lpthread

bench: deps
	@$(MAKE) --no-print-directory all $(BUILD)/tests/bench/floor \
	    $(BUILD)/tests/bench/wxbench
	@$(PYTHON) tests/bench/bench.py

# The program, the pool script, migrations, error bodies, web server
# templates, an example environment and the systemd units.
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(DATADIR)/wxauth/migrations $(DESTDIR)$(DATADIR)/wxauth/errors \
	    $(DESTDIR)$(DATADIR)/wxauth/lighttpd $(DESTDIR)$(DATADIR)/wxauth/apache \
	    $(DESTDIR)$(DATADIR)/wxauth/nginx $(DESTDIR)$(SYSCONFDIR)/wxauth \
	    $(DESTDIR)$(SYSTEMDDIR)
	install -m 0755 $(BUILD)/wxauth $(DESTDIR)$(BINDIR)/wxauth
	sed -e 's|/usr/local/bin/wxauth|$(BINDIR)/wxauth|' deploy/pool/wxauth-pool \
	    > $(DESTDIR)$(SBINDIR)/wxauth-pool
	chmod 0755 $(DESTDIR)$(SBINDIR)/wxauth-pool
	install -m 0644 migrations/*.sql $(DESTDIR)$(DATADIR)/wxauth/migrations/
	install -m 0644 $(BUILD)/errors/*.html $(DESTDIR)$(DATADIR)/wxauth/errors/
	for w in lighttpd apache nginx; do \
	    install -m 0644 deploy/$$w/wxauth.conf.in $(DESTDIR)$(DATADIR)/wxauth/$$w/; done
	install -m 0644 deploy/docker/.env.example $(DESTDIR)$(SYSCONFDIR)/wxauth/wxauth.env.example
	for u in wxauth-pool wxauth-migrate; do \
	    $(SUBST) deploy/systemd/$$u.service.in > $(DESTDIR)$(SYSTEMDDIR)/$$u.service; done

clean:
	rm -rf build build-asan

-include tests/fuzz/fuzz.mk
