#!/usr/bin/env bash
# 00-static: the tree is clang-format clean and each library stays in its
# module (make lint, cppcheck and clang-tidy: 01-lint.sh).
. "$(dirname "$0")/lib.sh"

if command -v clang-format >/dev/null 2>&1; then
	check "clang-format clean (make format-check)" make -s format-check
else
	skip "clang-format clean" "clang-format not installed (mk/deps.sh installs it)"
fi
# No OpenSSL outside src/lib/crypto, no inih outside src/lib/conf.
bad=$(grep -rlE --include='*.[ch]' '#include <openssl/' src tests fuzz include 2>/dev/null | grep -v '^src/lib/crypto/' || true)
if [ -z "$bad" ]; then ok "only src/lib/crypto includes OpenSSL"; else fail "OpenSSL included outside src/lib/crypto: $bad"; fi
bad=$(grep -rlE --include='*.[ch]' '#include <ini.h>' src tests fuzz include 2>/dev/null | grep -v '^src/lib/conf/' || true)
if [ -z "$bad" ]; then ok "only src/lib/conf includes inih"; else fail "inih included outside src/lib/conf: $bad"; fi
bad=$(grep -rlE --include='*.[ch]' '#include <sqlite3.h>' src tests fuzz include bench 2>/dev/null | grep -v '^src/lib/store/' || true)
if [ -z "$bad" ]; then ok "only src/lib/store includes sqlite3"; else fail "sqlite3 included outside src/lib/store: $bad"; fi
bad=$(grep -rlE --include='*.[ch]' '#include <libpq-fe.h>' src tests fuzz include bench 2>/dev/null | grep -vE '^src/lib/store/pgstore[a-z_]*\.[ch]$' || true)
if [ -z "$bad" ]; then ok "only src/lib/store/pgstore* include libpq"; else fail "libpq included outside src/lib/store/pgstore*: $bad"; fi
bad=$(grep -rlE --include='*.[ch]' '#include <seccomp.h>' src tests fuzz include bench 2>/dev/null | grep -v '^src/lib/util/sandbox.c$' || true)
if [ -z "$bad" ]; then ok "only src/lib/util/sandbox.c includes seccomp.h"; else fail "seccomp.h included outside src/lib/util/sandbox.c: $bad"; fi
bad=$(grep -rlE --include='*.[ch]' '#include <(libnetfilter_queue|libmnl)/' src tests fuzz include bench 2>/dev/null | grep -v '^src/pktd/nfq\.c$' || true)
if [ -z "$bad" ]; then ok "only src/pktd/nfq.c includes libnetfilter_queue/libmnl"; else fail "libnetfilter_queue/libmnl included outside src/pktd/nfq.c: $bad"; fi
# Deprecated-API guard really is on for every object.
if grep -q -- '-DOPENSSL_NO_DEPRECATED' Makefile && grep -q -- '-DOPENSSL_API_COMPAT=30000' Makefile; then
	ok "OPENSSL_API_COMPAT=30000 and OPENSSL_NO_DEPRECATED in the build flags"
else
	fail "OpenSSL deprecation guards missing from the Makefile"
fi
done_testing
