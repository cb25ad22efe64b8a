/*
 * test_rsa.c: RSA-OAEP, RSA-PSS and the key encodings (rsa.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "cryptgate/rand.h"
#include "cryptgate/secret.h"
#include "cryptgate/rsa.h"

/* Keys the library must refuse (made with openssl genpkey). */
static const char pem_rsa1024[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIICdwIBADANBgkqhkiG9w0BAQEFAASCAmEwggJdAgEAAoGBAL7y1lYqfgtKJOT9\n"
    "PcVMEu/PLMpITWvj8jdCAzAnFMIydGSqRVdnPb2GkNNhyIRod4qs28R2jHrH1ZXL\n"
    "t9UqvpxE7AB697Z3GueTftYsggv9NzGLJjzTHJTMfiWDWg4ZWCaiFBCfaoOswEzN\n"
    "oJY1u/ZAyqjQBMb6dW33UT9m7WUVAgMBAAECgYBYHy/FgkS7JxORzkFEnVAb9gug\n"
    "qu93/DGbSM652T9eQ/StRFtN8+ptXf3WX8kvOhr5F78wktlQDItIX0TOjrR6E8QA\n"
    "dQ/FA9HjDY03JqMxWiBGH4UG2I1RM4Yn3sSO4XbO+oz5CkEZpkyWugL/BlYYMBeG\n"
    "tMB5hXP9NULAqwLEgQJBAOGOEhYOuDzZKNmFNoyBzp8qDMz98v4bqWr8KDjapyAA\n"
    "YY+1iu37Bdpb1R5+vHAD/hNTc1fTFQuNu14GFHPTQyECQQDYuPY/mRTy8C9bIaC+\n"
    "V5t8l+dWMt2WO0yX+vtg9ULH5cdPzYinViaEw+JjJsBK0TsNPq2ZhCSBX7bsAZbJ\n"
    "H9d1AkEApTZvQQDfKpLWPR46aojaU/N1FOIejsqsOdUhkSN3rxUYYS9U6CQqkVsa\n"
    "rA+g71u9S2Kg5f+TNrdGOwSxDnX8gQJBAJHTk06j8OavGw5VCFZLmMIzbGQiAdwO\n"
    "trElHnTVU0QypvRZtnPykiSPsgtJjeZJ91QoMqOzuOScxPb08sMOe+kCQGn4kgjP\n"
    "g3QwPeQxrWorbOi4d4ySy9pDcrtPkZEUcDl1WSC1RQl2+BbYhbyGwGbF7GPycGaD\n"
    "5OtI/o0xLjerhII=\n"
    "-----END PRIVATE KEY-----\n";

static const char pem_ec_p256[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgMP/eu0+80RSOZ/y4\n"
    "1b0Aq63yyoGOpunR+b575RhZFyqhRANCAAStZxVMsf+wL8gLJ0IDghigYuSOqv09\n"
    "jeNoGHFoOgGvpvDu05HG70nPoViBwjjGj29oVgNEQymxQUVEi3jJybkA\n"
    "-----END PRIVATE KEY-----\n";

static const char pem_rsa2048_pkcs1[] =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEpAIBAAKCAQEAxVcBqiyrrFg/X6kBfVmDa59gC2Ueo8p3RJDnie7WNR+5KCHY\n"
    "F27JUVtBjFJEuIM0gEsXtu/jnVTMNELpbPInNaHScUIlwB2nGGqbUUXNUOEFUWea\n"
    "TXjQfdAGT3oFnbgZFwDyr1YyjjYVV4ybGwF/3Y71eqSKN7nET92wpCCpftN83rp8\n"
    "JHnand99iKNb6HnfSmq6IEd7P/ruyCBDgTJ7+Nog7lUO3EsZsIzW4z1PYE7hHyyq\n"
    "JFMzRHm8CUR2H39/NnH7JNaAG9q9RapB/GcBGnERTWdi1lQ6GqhQXR/E0fVZ0A0V\n"
    "9fJn9/lj8sC0E94qz+iiteIRIbfuCXJtM9eQMwIDAQABAoIBAEj7BW2W+aJSPJW3\n"
    "HgrqiNTLayyrp+oxHWypHkf/oQ6ifcpewdjgqulAk3w+jJWkSE1N+CY6j3YG/0Iw\n"
    "oL0ezOtjvj0OloF3Ne2st2YWJ3lKzrmtU/5kuM5emYbY/Ky4gebk/dtkSGwZikkH\n"
    "gfE527znetdxdIBpXjWfKg142tZA3+4fagMCm/ztrYDi4GrS511DQDZd2cGcJdV1\n"
    "qn5QbEJGxgrJH+7fjjELf0bXjuMjzg+fGUdsQB9PG3YRAmdQJPBFqjwt4BcTtE3t\n"
    "7djt4BRwsn74f1awvXwee+7X7xWuDVb1vuTwMSHEAc8lJQpVjy3Fe7AIyvHD2Qy7\n"
    "R4sZeGECgYEA75Na48thxaG+5fsASE+AztaVIPq4qJa/bOPEDO6yHgI3dPTeL7c8\n"
    "JxzM7RnEyiXxcotwPG30WbJdezqe9ZJG8CS0zI0FPyZx0fWgHc7OrPFsk6d2/tVf\n"
    "H65G90zPZiCQWm2bZN7wc1LvvWj40eynXHY916lCSpUsBkaRlx6BpfECgYEA0t5l\n"
    "22+IVAaj8OTzukDxWgycyfA07OHupqSEGN8BaXVcwZGPhEFx4nEr+S7vQTsOBZ/8\n"
    "mJGmb5JPAfr+LcVgDzfSDEGmAjKUIuf/dF57B1Y6EFTMjJ0x8Mm7ExsRXbxgwFZx\n"
    "wbUzAaskKqPcGQps4UOTAy7MgeX4PCCVhhHGpGMCgYAjtSrO2Plxo3H4hTi9jlv8\n"
    "eC8yAyyStCVD7Y7C/rC9mEb7v6N+KSlmCvzgOf8CwjUChZXs69aHp/YW793RbEP2\n"
    "dwIbmsk1aF1+lcWPq8tSK4mrWEJ8KQFMj4U0RtaCukfJspx+pFviVHI3IPY1E7i+\n"
    "J0GAa1HeG+274bjBdWKNgQKBgQCLTCkjPVlkkIJqFwS+jDojj2NfrxN3TITXhqRQ\n"
    "vbh0Dvh4UozpBEaUHMi8snmQsM9Bff9iVg0JdTBGEaUpXVJomyphuFhO6VScfn9t\n"
    "QyCopxhyQ2JgnVMpSkoPg/kD3/ZV+ITrPqT0PDcHB/nUfOOSJ46NMrQcN2u1ZJ0B\n"
    "1OpRGwKBgQCuQmx6KsdbsaohuKiDsxjY6gE7UgY9GuUDaY39MamprM2OGujcI5p5\n"
    "/h56ailZUehCw7b32zR/WvS0nsjy6iP9kqOXlkHH2qI6e2OgkUdmoTjGEUK4CTKV\n"
    "CH+yp6qMo6U/c5EIyzoEkcZ5oxvB5QHG+kywmqWppjN6GLW806w8rA==\n"
    "-----END RSA PRIVATE KEY-----\n";

static const char pem_rsapss2048[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEuwIBADALBgkqhkiG9w0BAQoEggSnMIIEowIBAAKCAQEAs+gKgsHLQENoP3Lh\n"
    "+I/Mw6H9JCJ63lvAB4nO2d4EYMKRXKLVJCk5Xk+gMpao1Rj+35P5lGGx8Xda5VV3\n"
    "ZbP6nQoR32myKYbajNtIpx57uEVUH17IZOKM1eaqAhI3pbuqAGsJr+4Nm5+BbOG0\n"
    "0W2XT4OGKTQpYtACK0GSAPskDya9WRQ135WrQ1fHHI8PaBy5vhj0YVfcmy1ZCL0m\n"
    "I5/6kkqtl+DbHSqYACtgkTODVi39bkpXoipddrTZPmhZea2Uy0yRgQUpDM2JC8Cq\n"
    "7D1/QVz+7XhN2dOYsLakqr5U7csaceMDveRObkxMSwZddFQVeFKkc1btcu8fgW9i\n"
    "6Wt6swIDAQABAoIBAENpZk7aqPtahryHoq7Ny09e6ojYtquNO6ZXd//hFkjffzJz\n"
    "/WPAYrO5KHDsTTUUWaSTQQjdlpzBOXkHjma4iua/ODU72LuAwXHYVR/x5zAEImJi\n"
    "1Logvd8EwJ1oEBv09t2TPh0DGWw/13JiHKwA4Zq00NetqPhSsw1cU4Y0lK1sGNdr\n"
    "tZgZka1ESa1CCGsrxQVI220axO4gSJL9oJcPV0HcgpmfggtTDynDS664/1WYDYM3\n"
    "Kzyc+c0kDhiC8R64+oLnkJg5xJResQMnfGgcbo3CSUr6lOKKD9PsX+dAyJT9/92N\n"
    "hUcKgAqv8XvzcIBzYhYgDRQOt60EQnqTyecEJZkCgYEA2zEcQSEL4IJhaVHOuQpm\n"
    "fBuX0fUrOaW1P0r1z1f39jgACVekzJMYbJ5p5dg2fQGksu8ncRSee98nw+rIM/yQ\n"
    "WOMANxlHRUhqsbbsIr+2R3AyNdhYOEGO15zdIpy6uWDGi8eTQuAOm7oHD6V4JJcn\n"
    "IAD7fxob7OJ4zL+W9utiBacCgYEA0h4Uh7F2xOrpbgyDddi7a3tvD53jSa6+3eEz\n"
    "JUAEkH185PdarXykkbkm4vA7eon1f6DvxeT/Sf6R2vk7fTdfKv/uKRk1YUTbi4jo\n"
    "LTuaoeL8El2WwseOQU/vht/1/qE5rDlbCOKXO3QrQbbXLhirtR6VNmxR/dNLuQEu\n"
    "6Sn/XBUCgYAGL/q2M/Kb4dJSIMcPHiYKdtTwTlVsCSt2n+0Ub01GnAoUOW8jfzt/\n"
    "RXGD1XikSrmVe37HiGd447HBrAz+urBwcef9pi8G26Z3YcyEppjEp3wjXPoQjHk1\n"
    "yO3NHlN/DCZOp9GWX7DJ4JR2cptTnRizpJN04Q3MwA/c58OhML/RnQKBgGG/TJ2z\n"
    "mSUSg3WGrMFuCgJ+cbQ6Jzpn6LMfyMNTfMwbFLcPu0dp7MU99TEtwP3IoES3gdP2\n"
    "LC0oGIJd36bo04UVep3z9DlD5z6KejhQuicFiW6hyzjhzPPlU/DSz4WdS08rf4Yq\n"
    "o2AtMtJnVMNFBtxDVfbzfVEvstJmEoS13O3hAoGBAI5D0SuyFTmAuiKa/ss7civD\n"
    "K+NrAUiJ+vZb/8v0UjfRG4BQUwxXKS5gDvMF8HoSotxvx+YXBRBvZc1ZUKGgsvdm\n"
    "PKqXQNhYax4+PONWd83UfKPHnoYyiPj8m6lEhEW7wivJdX9v9czMZ7ldPIHa/S10\n"
    "D/Uiq8Z07JeO7N3ZCu3f\n"
    "-----END PRIVATE KEY-----\n";

/*
 * RSASSA-PSS known answers from OpenSSL's command line (openssl dgst -sha256
 * -sigopt rsa_padding_mode:pss -sigopt rsa_mgf1_md:sha256 -sigopt
 * rsa_pss_saltlen:32, and :20) by the key of pem_rsa2048_pkcs1 over
 * "cryptgate test rsa" 0x00 "the message".
 */
static const char kat_spki2048[] =
    "30820122300d06092a864886f70d01010105000382010f003082010a0282010100c5"
    "5701aa2cabac583f5fa9017d59836b9f600b651ea3ca774490e789eed6351fb92821"
    "d8176ec9515b418c5244b88334804b17b6efe39d54cc3442e96cf22735a1d2714225"
    "c01da7186a9b5145cd50e10551679a4d78d07dd0064f7a059db8191700f2af56328e"
    "3615578c9b1b017fdd8ef57aa48a37b9c44fddb0a420a97ed37cdeba7c2479da9ddf"
    "7d88a35be879df4a6aba20477b3ffaeec8204381327bf8da20ee550edc4b19b08cd6"
    "e33d4f604ee11f2caa2453334479bc0944761f7f7f3671fb24d6801bdabd45aa41fc"
    "67011a71114d6762d6543a1aa8505d1fc4d1f559d00d15f5f267f7f963f2c0b413de"
    "2acfe8a2b5e21121b7ee09726d33d790330203010001";

static const char kat_pss_salt32[] =
    "1b23b70baa6d72f85c7bd7e9d6208fed241c4872b0ff23ad6457abbd469b80d3986d"
    "df1021ad91a096c3440da7bc6ac900b01edbee200f93bfb9b13be19c04b4afa22843"
    "7a80855db2b2f1d16af1331cb5acfb76421f2f9bb09e362fdf382147bfaee923f0ed"
    "3b323b10b7ca2fb46683b7df3f43aa34d105a17dc74a55139d59616968d6c1b32577"
    "ebd031cba6da22fdf645cde0a8d29de7270a928dd18e22e981339ddf5feb90a9dab5"
    "b3926cf6e639c21a6ac08c83578f3c67090b85114a05e7663d654f7ac0f3ad06faf0"
    "03aae1d728e1ccbf5aee91b9aa73259fb908b98147c9cabe83341c9a396b11da8503"
    "3f7b74fdff8875187982bf9b870b506eebd3";

static const char kat_pss_salt20[] =
    "03d8da7aa9c93da9f8d7176a79805c701d08f8003558a77fc7c4f92bee4ea4520239"
    "f3ef8cdd0190467a594a24eb05974abd51e0638afda5ae58ba80a01437d52c55d0c0"
    "7e98ea77e62f9706dab2ef36c1923a2f561abda299ba6c47ccdedbabaad8366c2e4d"
    "0d6afe09743758050c44fb7b27615f6f6623d8869fc35732c3f9e768f039ed48c42b"
    "86fbe73ed4e1ba2971f5b524bcf354627e3373e3d3231bc125de8fa33b666315dfc3"
    "d4182f184d393b4a0fca66167a5ffbe17f113aff1133b131531885ce7ea5e2cbbc02"
    "6b7646c818792452c21cddc1dc8296788081dfedcaa64a12dec644487f53becd246f"
    "a33e975c0b89ffd4c33860d51c7a2750cc80";

static const char pss_ctx[] = "cryptgate test rsa";

/* One 3072-bit key per test binary (generation is slow). */
struct fixture {
	struct rsa_key *key;
	struct rsa_key *pub;
};

static struct fixture fx;

static int
group_setup(void **state)
{
	uint8_t der[RSA_SPKIBYTES_MAX];
	size_t derlen;

	if ((fx.key = rsa_key_generate(RSA_BITS_DEFAULT)) == NULL)
		return (-1);
	if (rsa_key_spki_der(fx.key, der, sizeof(der), &derlen))
		return (-1);
	if ((fx.pub = rsa_key_from_spki_der(der, derlen)) == NULL)
		return (-1);
	*state = &fx;
	return (0);
}

static int
group_teardown(void **state)
{
	rsa_key_free(fx.key);
	rsa_key_free(fx.pub);
	return (0);
}

/* Minimal base64 decoder for the body of a PEM block (test only). */
static int
b64val(int c)
{
	const char *tab =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p;

	if (c == '\0' || (p = strchr(tab, c)) == NULL)
		return (-1);
	return ((int)(p - tab));
}

static size_t
unhex(uint8_t *out, size_t outsize, const char *hex)
{
	size_t n = strlen(hex) / 2, i;
	unsigned int b;

	assert_true(strlen(hex) % 2 == 0 && n <= outsize);
	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
		out[i] = (uint8_t)b;
	}
	return (n);
}

static size_t
pem_to_der(uint8_t *out, size_t outsize, const char *pem)
{
	const char *p;
	uint32_t acc = 0;
	size_t n = 0;
	int bits = 0, v;

	p = strchr(pem, '\n');
	assert_non_null(p);
	for (p++; *p != '\0' && *p != '-'; p++) {
		if ((v = b64val((unsigned char)*p)) < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			assert_true(n < outsize);
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return (n);
}

/* Silence the library's log lines (stderr) around a noisy loop. */
static int
quiet_begin(void)
{
	int saved, null;

	fflush(stderr);
	if ((saved = dup(STDERR_FILENO)) == -1)
		return (-1);
	if ((null = open("/dev/null", O_WRONLY)) != -1) {
		(void)dup2(null, STDERR_FILENO);
		close(null);
	}
	return (saved);
}

static void
quiet_end(int saved)
{
	if (saved == -1)
		return;
	fflush(stderr);
	(void)dup2(saved, STDERR_FILENO);
	close(saved);
}

/*
 * Flip every base64 character of the body of ${pem} in turn and load it.
 * Count in ${*refused} the loads that fail; return the number that loaded
 * a key whose SPKI differs from ${spki}.
 */
static int
corrupt_pem(char *pem, size_t pemlen, const uint8_t *spki, size_t spkilen,
    size_t *refused)
{
	struct rsa_key *k;
	uint8_t der[RSA_SPKIBYTES_MAX];
	size_t i, derlen;
	char o;
	int bad = 0, saved;

	*refused = 0;
	saved = quiet_begin();
	for (i = strlen("-----BEGIN PRIVATE KEY-----\n");
	     i < pemlen && pem[i] != '-'; i++) {
		o = pem[i];
		/* Skip newlines and the last character before the padding. */
		if (b64val((unsigned char)o) < 0 || pem[i + 1] == '=')
			continue;
		pem[i] = o == 'A' ? 'B' : 'A';
		if ((k = rsa_key_from_pem(pem, pemlen)) == NULL)
			(*refused)++;
		else if (rsa_key_spki_der(k, der, sizeof(der), &derlen) != 0 ||
		    derlen != spkilen || memcmp(der, spki, spkilen) != 0)
			bad++;
		rsa_key_free(k);
		pem[i] = o;
	}
	quiet_end(saved);
	return (bad);
}

static void
test_generate_limits(void **state)
{
	struct fixture *f = *state;

	assert_null(rsa_key_generate(1024));
	assert_null(rsa_key_generate(2047));
	assert_null(rsa_key_generate(8192));
	assert_int_equal(rsa_key_bytes(f->key), 384);
	assert_true(rsa_key_is_private(f->key));
	assert_false(rsa_key_is_private(f->pub));
	assert_int_equal(rsa_key_bytes(f->pub), 384);
	assert_false(rsa_key_is_private(NULL));
	assert_int_equal(rsa_key_bytes(NULL), 0);
	rsa_key_free(NULL);
}

static void
test_generate_2048(void **state)
{
	struct rsa_key *k;
	uint8_t c[RSA_BYTES_MAX], m[RSA_BYTES_MAX];
	size_t clen, mlen;

	(void)state;
	assert_non_null(k = rsa_key_generate(RSA_BITS_MIN));
	assert_int_equal(rsa_key_bytes(k), 256);
	assert_int_equal(
	    rsa_oaep_seal(c, &clen, (const uint8_t *)"hi", 2, NULL, 0, k), 0);
	assert_int_equal(clen, 256);
	assert_int_equal(
	    rsa_oaep_open(m, sizeof(m), &mlen, c, clen, NULL, 0, k), 0);
	assert_int_equal(mlen, 2);
	assert_memory_equal(m, "hi", 2);
	rsa_key_free(k);
}

static void
test_oaep_roundtrip(void **state)
{
	struct fixture *f = *state;
	uint8_t c[RSA_BYTES_MAX], c2[RSA_BYTES_MAX], m[32], out[RSA_BYTES_MAX];
	const uint8_t label[] = "cryptgate label";
	size_t clen, c2len, outlen;

	assert_int_equal(rand_bytes(m, sizeof(m)), 0);

	/* No label, sealed to the public-only key. */
	assert_int_equal(
	    rsa_oaep_seal(c, &clen, m, sizeof(m), NULL, 0, f->pub), 0);
	assert_int_equal(clen, 384);
	assert_int_equal(
	    rsa_oaep_open(out, sizeof(out), &outlen, c, clen, NULL, 0, f->key),
	    0);
	assert_int_equal(outlen, sizeof(m));
	assert_memory_equal(out, m, sizeof(m));

	/* OAEP is randomised. */
	assert_int_equal(
	    rsa_oaep_seal(c2, &c2len, m, sizeof(m), NULL, 0, f->key), 0);
	assert_memory_not_equal(c, c2, clen);

	/* With a label. */
	assert_int_equal(
	    rsa_oaep_seal(c, &clen, m, sizeof(m), label, sizeof(label), f->key),
	    0);
	assert_int_equal(rsa_oaep_open(out, sizeof(out), &outlen, c, clen,
	                     label, sizeof(label), f->key),
	    0);
	assert_int_equal(outlen, sizeof(m));
	assert_memory_equal(out, m, sizeof(m));

	/* Empty message. */
	assert_int_equal(rsa_oaep_seal(c, &clen, NULL, 0, NULL, 0, f->key), 0);
	assert_int_equal(
	    rsa_oaep_open(out, sizeof(out), &outlen, c, clen, NULL, 0, f->key),
	    0);
	assert_int_equal(outlen, 0);
}

static void
test_oaep_length_limit(void **state)
{
	struct fixture *f = *state;
	uint8_t c[RSA_BYTES_MAX], m[RSA_BYTES_MAX], out[RSA_BYTES_MAX];
	size_t clen, outlen, max = 384 - 2 * 32 - 2;

	memset(m, 0xa5, sizeof(m));
	assert_int_equal(rsa_oaep_seal(c, &clen, m, max, NULL, 0, f->key), 0);
	assert_int_equal(
	    rsa_oaep_open(out, sizeof(out), &outlen, c, clen, NULL, 0, f->key),
	    0);
	assert_int_equal(outlen, max);
	assert_memory_equal(out, m, max);
	assert_int_equal(
	    rsa_oaep_seal(c, &clen, m, max + 1, NULL, 0, f->key), -1);

	/* An output buffer too small fails, zeroed. */
	memset(out, 0x55, sizeof(out));
	assert_int_equal(
	    rsa_oaep_open(out, max - 1, &outlen, c, clen, NULL, 0, f->key), -1);
	for (size_t i = 0; i < max - 1; i++)
		assert_int_equal(out[i], 0);
}

static void
test_oaep_tamper(void **state)
{
	struct fixture *f = *state;
	uint8_t c[RSA_BYTES_MAX], m[32], out[RSA_BYTES_MAX];
	size_t clen, outlen, i;
	int failures = 0;

	assert_int_equal(rand_bytes(m, sizeof(m)), 0);
	assert_int_equal(
	    rsa_oaep_seal(c, &clen, m, sizeof(m), NULL, 0, f->key), 0);
	for (i = 0; i < clen; i++) {
		c[i] ^= 0x01;
		memset(out, 0x55, sizeof(out));
		outlen = 99;
		if (rsa_oaep_open(out, sizeof(out), &outlen, c, clen, NULL, 0,
		        f->key) == -1 &&
		    outlen == 0 && out[0] == 0 && out[sizeof(m) - 1] == 0)
			failures++;
		c[i] ^= 0x01;
	}
	assert_int_equal(failures, (int)clen);

	/* Wrong lengths. */
	assert_int_equal(rsa_oaep_open(out, sizeof(out), &outlen, c, clen - 1,
	                     NULL, 0, f->key),
	    -1);
	assert_int_equal(
	    rsa_oaep_open(out, sizeof(out), &outlen, c, 0, NULL, 0, f->key),
	    -1);

	/* Untouched it still opens. */
	assert_int_equal(
	    rsa_oaep_open(out, sizeof(out), &outlen, c, clen, NULL, 0, f->key),
	    0);
	assert_memory_equal(out, m, sizeof(m));
}

static void
test_oaep_wrong_label(void **state)
{
	struct fixture *f = *state;
	uint8_t c[RSA_BYTES_MAX], m[32], out[RSA_BYTES_MAX];
	const uint8_t l1[] = "label one", l2[] = "label two";
	size_t clen, outlen;

	assert_int_equal(rand_bytes(m, sizeof(m)), 0);
	assert_int_equal(
	    rsa_oaep_seal(c, &clen, m, sizeof(m), l1, sizeof(l1), f->key), 0);
	assert_int_equal(rsa_oaep_open(out, sizeof(out), &outlen, c, clen, l2,
	                     sizeof(l2), f->key),
	    -1);
	assert_int_equal(
	    rsa_oaep_open(out, sizeof(out), &outlen, c, clen, NULL, 0, f->key),
	    -1);
	assert_int_equal(rsa_oaep_open(out, sizeof(out), &outlen, c, clen, l1,
	                     sizeof(l1) - 1, f->key),
	    -1);

	/* No label on seal, a label on open. */
	assert_int_equal(
	    rsa_oaep_seal(c, &clen, m, sizeof(m), NULL, 0, f->key), 0);
	assert_int_equal(rsa_oaep_open(out, sizeof(out), &outlen, c, clen, l1,
	                     sizeof(l1), f->key),
	    -1);

	/* A public key cannot open. */
	assert_int_equal(
	    rsa_oaep_open(out, sizeof(out), &outlen, c, clen, NULL, 0, f->pub),
	    -1);
}

static void
test_pem_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct rsa_key *k2;
	uint8_t c[RSA_BYTES_MAX], m[32], out[RSA_BYTES_MAX];
	uint8_t spki1[RSA_SPKIBYTES_MAX], spki2[RSA_SPKIBYTES_MAX];
	size_t clen, outlen, l1, l2;
	char *pem, *pem2;
	size_t pemlen, pem2len, refused;
	int bad;

	assert_int_equal(rsa_key_to_pem(f->key, &pem, &pemlen), 0);
	assert_int_equal(strlen(pem), pemlen);
	assert_true(strncmp(pem, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
	assert_non_null(strstr(pem, "-----END PRIVATE KEY-----\n"));

	assert_non_null(k2 = rsa_key_from_pem(pem, pemlen));
	assert_true(rsa_key_is_private(k2));
	assert_int_equal(rsa_key_bytes(k2), 384);

	/* Same key: same public part, and it opens what f->key sealed. */
	assert_int_equal(
	    rsa_key_spki_der(f->key, spki1, sizeof(spki1), &l1), 0);
	assert_int_equal(rsa_key_spki_der(k2, spki2, sizeof(spki2), &l2), 0);
	assert_int_equal(l1, l2);
	assert_memory_equal(spki1, spki2, l1);
	assert_int_equal(rand_bytes(m, sizeof(m)), 0);
	assert_int_equal(
	    rsa_oaep_seal(c, &clen, m, sizeof(m), NULL, 0, f->key), 0);
	assert_int_equal(
	    rsa_oaep_open(out, sizeof(out), &outlen, c, clen, NULL, 0, k2), 0);
	assert_memory_equal(out, m, sizeof(m));

	/* Writing it again gives the same PEM. */
	assert_int_equal(rsa_key_to_pem(k2, &pem2, &pem2len), 0);
	assert_int_equal(pem2len, pemlen);
	assert_memory_equal(pem, pem2, pemlen);
	secret_free(pem2, pem2len + 1);
	rsa_key_free(k2);

	/*
	 * Change each base64 character of the body in turn: the key is either
	 * refused or (a version field) decodes to the very same key.
	 */
	bad = corrupt_pem(pem, pemlen, spki1, l1, &refused);
	assert_int_equal(bad, 0);
	assert_true(refused > pemlen * 9 / 10);

	/* A truncated block is refused. */
	assert_null(rsa_key_from_pem(pem, pemlen / 2));

	/* A public key has no PEM. */
	assert_int_equal(rsa_key_to_pem(f->pub, &pem2, &pem2len), -1);
	secret_free(pem, pemlen + 1);
}

static void
test_pkcs8_der(void **state)
{
	struct fixture *f = *state;
	struct rsa_key *k2;
	uint8_t der[4096], spki1[RSA_SPKIBYTES_MAX], spki2[RSA_SPKIBYTES_MAX];
	size_t derlen, l1, l2;
	char *pem;
	size_t pemlen;

	assert_int_equal(rsa_key_to_pem(f->key, &pem, &pemlen), 0);
	derlen = pem_to_der(der, sizeof(der) - 1, pem);
	secret_free(pem, pemlen + 1);
	assert_true(derlen > 1200);

	assert_non_null(k2 = rsa_key_from_pkcs8_der(der, derlen));
	assert_true(rsa_key_is_private(k2));
	assert_int_equal(
	    rsa_key_spki_der(f->key, spki1, sizeof(spki1), &l1), 0);
	assert_int_equal(rsa_key_spki_der(k2, spki2, sizeof(spki2), &l2), 0);
	assert_int_equal(l1, l2);
	assert_memory_equal(spki1, spki2, l1);
	rsa_key_free(k2);

	/* Truncated, trailing garbage, empty. */
	assert_null(rsa_key_from_pkcs8_der(der, derlen - 1));
	der[derlen] = 0;
	assert_null(rsa_key_from_pkcs8_der(der, derlen + 1));
	assert_null(rsa_key_from_pkcs8_der(der, 0));
	assert_null(rsa_key_from_pkcs8_der(NULL, 10));

	/* An SPKI is not a private key, and vice versa. */
	assert_null(rsa_key_from_pkcs8_der(spki1, l1));
	assert_null(rsa_key_from_spki_der(der, derlen));
	secret_wipe(der, sizeof(der));
}

static void
test_spki_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct rsa_key *pub;
	uint8_t der[RSA_SPKIBYTES_MAX + 1], der2[RSA_SPKIBYTES_MAX];
	size_t derlen, der2len;

	assert_int_equal(
	    rsa_key_spki_der(f->key, der, sizeof(der) - 1, &derlen), 0);
	assert_true(derlen > 384 && derlen <= RSA_SPKIBYTES_MAX);
	assert_non_null(pub = rsa_key_from_spki_der(der, derlen));
	assert_false(rsa_key_is_private(pub));
	assert_int_equal(
	    rsa_key_spki_der(pub, der2, sizeof(der2), &der2len), 0);
	assert_int_equal(der2len, derlen);
	assert_memory_equal(der, der2, derlen);
	rsa_key_free(pub);

	/* Too small an output buffer. */
	assert_int_equal(
	    rsa_key_spki_der(f->key, der2, derlen - 1, &der2len), -1);

	/* Truncated or with trailing data. */
	assert_null(rsa_key_from_spki_der(der, derlen - 1));
	der[derlen] = 0;
	assert_null(rsa_key_from_spki_der(der, derlen + 1));
	der[0] ^= 0x01;
	assert_null(rsa_key_from_spki_der(der, derlen));
}

static void
test_pss(void **state)
{
	struct fixture *f = *state;
	uint8_t sig[RSA_BYTES_MAX], sig2[RSA_BYTES_MAX], m[100];
	char ctx64[65], ctx65[66];
	size_t siglen, sig2len, i;
	int failures;

	assert_int_equal(rand_bytes(m, sizeof(m)), 0);
	assert_int_equal(
	    rsa_pss_sign(sig, &siglen, pss_ctx, m, sizeof(m), f->key), 0);
	assert_int_equal(siglen, 384);
	assert_int_equal(
	    rsa_pss_verify(sig, siglen, pss_ctx, m, sizeof(m), f->pub), 0);
	assert_int_equal(
	    rsa_pss_verify(sig, siglen, pss_ctx, m, sizeof(m), f->key), 0);

	/* PSS is randomised (32-byte salt); both verify. */
	assert_int_equal(
	    rsa_pss_sign(sig2, &sig2len, pss_ctx, m, sizeof(m), f->key), 0);
	assert_memory_not_equal(sig, sig2, siglen);
	assert_int_equal(
	    rsa_pss_verify(sig2, sig2len, pss_ctx, m, sizeof(m), f->pub), 0);

	/* Every signature byte. */
	failures = 0;
	for (i = 0; i < siglen; i++) {
		sig[i] ^= 0x80;
		if (rsa_pss_verify(
		        sig, siglen, pss_ctx, m, sizeof(m), f->pub) == -1)
			failures++;
		sig[i] ^= 0x80;
	}
	assert_int_equal(failures, (int)siglen);

	/* Every message byte. */
	failures = 0;
	for (i = 0; i < sizeof(m); i++) {
		m[i] ^= 0x01;
		if (rsa_pss_verify(
		        sig, siglen, pss_ctx, m, sizeof(m), f->pub) == -1)
			failures++;
		m[i] ^= 0x01;
	}
	assert_int_equal(failures, (int)sizeof(m));
	assert_int_equal(
	    rsa_pss_verify(sig, siglen, pss_ctx, m, sizeof(m) - 1, f->pub), -1);

	/* Another context, or context/message boundary moved. */
	assert_int_equal(rsa_pss_verify(sig, siglen, "cryptgate test rsb", m,
	                     sizeof(m), f->pub),
	    -1);
	assert_int_equal(rsa_pss_verify(sig, siglen, "cryptgate test rs", m,
	                     sizeof(m), f->pub),
	    -1);
	assert_int_equal(
	    rsa_pss_verify(sig, siglen - 1, pss_ctx, m, sizeof(m), f->pub), -1);
	assert_int_equal(
	    rsa_pss_verify(sig, siglen, pss_ctx, m, sizeof(m), f->pub), 0);

	/* Context length 1..64. */
	memset(ctx64, 'c', 64);
	ctx64[64] = '\0';
	memset(ctx65, 'c', 65);
	ctx65[65] = '\0';
	assert_int_equal(
	    rsa_pss_sign(sig, &siglen, ctx64, m, sizeof(m), f->key), 0);
	assert_int_equal(
	    rsa_pss_verify(sig, siglen, ctx64, m, sizeof(m), f->pub), 0);
	assert_int_equal(
	    rsa_pss_sign(sig, &siglen, ctx65, m, sizeof(m), f->key), -1);
	assert_int_equal(
	    rsa_pss_sign(sig, &siglen, "", m, sizeof(m), f->key), -1);
	assert_int_equal(
	    rsa_pss_sign(sig, &siglen, NULL, m, sizeof(m), f->key), -1);

	/* Empty message; public key cannot sign. */
	assert_int_equal(
	    rsa_pss_sign(sig, &siglen, pss_ctx, NULL, 0, f->key), 0);
	assert_int_equal(
	    rsa_pss_verify(sig, siglen, pss_ctx, NULL, 0, f->pub), 0);
	assert_int_equal(
	    rsa_pss_sign(sig, &siglen, pss_ctx, m, sizeof(m), f->pub), -1);
}

static void
test_pss_kat(void **state)
{
	struct rsa_key *pub;
	const uint8_t m[] = "the message";
	uint8_t spki[RSA_SPKIBYTES_MAX], sig32[256], sig20[256];
	size_t spkilen;

	(void)state;
	spkilen = unhex(spki, sizeof(spki), kat_spki2048);
	assert_int_equal(unhex(sig32, sizeof(sig32), kat_pss_salt32), 256);
	assert_int_equal(unhex(sig20, sizeof(sig20), kat_pss_salt20), 256);
	assert_non_null(pub = rsa_key_from_spki_der(spki, spkilen));
	assert_int_equal(rsa_key_bytes(pub), 256);
	assert_int_equal(rsa_pss_verify(sig32, sizeof(sig32), pss_ctx, m,
	                     sizeof(m) - 1, pub),
	    0);
	assert_int_equal(
	    rsa_pss_verify(sig32, sizeof(sig32), pss_ctx, m, sizeof(m), pub),
	    -1);

	/* A valid PSS signature, but with a 20-byte salt: refused. */
	assert_int_equal(rsa_pss_verify(sig20, sizeof(sig20), pss_ctx, m,
	                     sizeof(m) - 1, pub),
	    -1);
	rsa_key_free(pub);
}

static void
test_refused_keys(void **state)
{
	struct rsa_key *k;

	(void)state;

	/* The PEM decodes, but 1024 bits is below RSA_BITS_MIN. */
	k = rsa_key_from_pem(pem_rsa1024, strlen(pem_rsa1024));
	assert_null(k);

	/* Not RSA, not plain RSA, not PKCS#8. */
	assert_null(rsa_key_from_pem(pem_ec_p256, strlen(pem_ec_p256)));
	assert_null(rsa_key_from_pem(pem_rsapss2048, strlen(pem_rsapss2048)));
	assert_null(
	    rsa_key_from_pem(pem_rsa2048_pkcs1, strlen(pem_rsa2048_pkcs1)));

	/* Garbage. */
	assert_null(rsa_key_from_pem("hello", 5));
	assert_null(rsa_key_from_pem("", 0));
	assert_null(rsa_key_from_spki_der((const uint8_t *)"\x30\x00", 2));
}

static void
test_refused_keys_der(void **state)
{
	uint8_t der[2048];
	size_t derlen;

	(void)state;
	derlen = pem_to_der(der, sizeof(der), pem_rsa1024);
	assert_true(derlen > 600);
	assert_null(rsa_key_from_pkcs8_der(der, derlen));
	derlen = pem_to_der(der, sizeof(der), pem_ec_p256);
	assert_true(derlen > 100);
	assert_null(rsa_key_from_pkcs8_der(der, derlen));
	derlen = pem_to_der(der, sizeof(der), pem_rsapss2048);
	assert_true(derlen > 1000);
	assert_null(rsa_key_from_pkcs8_der(der, derlen));
	derlen = pem_to_der(der, sizeof(der), pem_rsa2048_pkcs1);
	assert_true(derlen > 1000);
	assert_null(rsa_key_from_pkcs8_der(der, derlen));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate_limits),
		cmocka_unit_test(test_generate_2048),
		cmocka_unit_test(test_oaep_roundtrip),
		cmocka_unit_test(test_oaep_length_limit),
		cmocka_unit_test(test_oaep_tamper),
		cmocka_unit_test(test_oaep_wrong_label),
		cmocka_unit_test(test_pem_roundtrip),
		cmocka_unit_test(test_pkcs8_der),
		cmocka_unit_test(test_spki_roundtrip),
		cmocka_unit_test(test_pss),
		cmocka_unit_test(test_pss_kat),
		cmocka_unit_test(test_refused_keys),
		cmocka_unit_test(test_refused_keys_der),
	};

	return (cmocka_run_group_tests(tests, group_setup, group_teardown));
}
