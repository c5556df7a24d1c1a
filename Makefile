# wxauth -- WeChat mini program login backend (FastCGI, C).
#
#   make            build build/wxauth
#   make run        install what is missing, build, and serve on 127.0.0.1:$(PORT)
#                   behind WEB=lighttpd (default), apache or nginx
#   make test       the same set-up, then every test (unit, unit under
#                   ASan+UBSan, integration through the real stack)
#   make unit       unit tests only;  make asan-unit  the same under sanitizers
#   make clean
#
# Overrides go in Makefile.local (not tracked).

CC	?= cc
PYTHON	?= /usr/bin/python3
PORT	?= 8080
WEB	?= lighttpd
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

-include Makefile.local

.PHONY: all deps run test unit asan-unit integration clean
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

integration: all
	$(PYTHON) tests/integration/run.py

run: deps
	@$(MAKE) --no-print-directory all
	exec $(PYTHON) deploy/dev/devstack.py run --port $(PORT) --web $(WEB)

test: deps
	@$(MAKE) --no-print-directory all
	@$(PYTHON) tests/run_all.py

clean:
	rm -rf build build-asan
