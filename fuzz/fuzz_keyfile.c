/*
 * fuzz_keyfile.c: libFuzzer target for the host key file parser
 * (hostkey_parse) and the .pub line parser (hostpub_parse).
 *
 * Invariants checked beyond "no crash": a parser reports an error string
 * exactly when it fails; a parsed key's version is not 0 and its public
 * identity (with the id of its keys: a rotated file names another) formats
 * and parses back to itself; a parsed .pub line formats back to the same bytes.
 *
 *   make fuzz && build/fuzz/fuzz_keyfile -max_total_time=60 \
 *       fuzz/corpus/keyfile
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "cryptgate/hostkey.h"
#include "cryptgate/hostpub.h"
#include "cryptgate/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(1, 0, LOG_USER);
	return (0);
}

static void
check_key(const char *s, size_t len)
{
	struct hostpub pub, back;
	struct hostkey *hk;
	const char *errstr = NULL;
	char line[HOSTPUB_LINEBYTES_MAX];

	hk = hostkey_parse(s, len, &errstr);
	if ((hk == NULL) != (errstr != NULL))
		abort();
	if (hk == NULL)
		return;
	hostkey_public(hk, &pub);
	/*
	 * A rotated key (Host-Id and Key-Version lines) reports the id the
	 * KDC knows the host by; the .pub line of its keys has their own.
	 */
	if (hostkey_kvno(hk) == 0 ||
	    hostpub_id_compute(
	        pub.host_id, pub.sign_pk, pub.seal_pk, pub.seal_pklen))
		abort();
	if (hostpub_format(&pub, line, sizeof(line)) ||
	    hostpub_parse(&back, line, strlen(line), &errstr) ||
	    !hostpub_equal(&pub, &back))
		abort();
	hostkey_free(hk);
}

static void
check_pub(const char *s, size_t len)
{
	struct hostpub pub;
	const char *errstr = NULL;
	char line[HOSTPUB_LINEBYTES_MAX];
	size_t n;

	if (hostpub_parse(&pub, s, len, &errstr)) {
		if (errstr == NULL)
			abort();
		return;
	}
	if (errstr != NULL || hostpub_format(&pub, line, sizeof(line)))
		abort();
	/* Canonical: the same bytes, except an optional final newline. */
	n = strlen(line);
	if (!(len == n || (len == n + 1 && s[n] == '\n')) ||
	    memcmp(line, s, n) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;

	if (size > HOSTKEY_FILEBYTES_MAX + 1)
		return (0);
	check_key(s, size);
	check_pub(s, size);
	return (0);
}
