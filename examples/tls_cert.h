/*
 * Certificates for the TLS examples and tests, made at run time with OpenSSL's API (no network,
 * no files to ship): a CA, and certificates it signs for a name. Not part of weft: a real
 * service loads the files its CA issued (struct weft_tls_ctx_opts.cert_file / key_file).
 */
#ifndef WEFT_EXAMPLES_TLS_CERT_H
#define WEFT_EXAMPLES_TLS_CERT_H

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A certificate and its key as PEM text (free with tls_cert_free). */
struct tls_cert {
	char *cert_pem;
	char *key_pem;
	X509 *x509;
	EVP_PKEY *key;
};

static inline bool tls_cert_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	bool ok;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	ok = ext && X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

static inline char *tls_cert_pem(X509 *x, EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long n;

	if (x ? PEM_write_bio_X509(bio, x)
	      : PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) {
		n = BIO_get_mem_data(bio, &data);
		if ((out = malloc((size_t)n + 1))) {
			memcpy(out, data, (size_t)n);
			out[n] = 0;
		}
	}
	BIO_free(bio);
	return out;
}

/*
 * tls_cert_make - a certificate for @cn (also its DNS name; @ip, if not NULL, an IP address
 * name too), valid from @from_s to @to_s seconds from now, signed by @ca (NULL: self-signed; a
 * CA when @is_ca). Returns true on success.
 */
static inline bool tls_cert_make(struct tls_cert *c, const char *cn, const char *ip, bool is_ca,
				 const struct tls_cert *ca, long from_s, long to_s)
{
	static long serial = 1;
	char san[256];
	X509 *x = X509_new();
	X509 *issuer = ca ? ca->x509 : x;
	bool ok;

	memset(c, 0, sizeof(*c));
	c->key = EVP_EC_gen("P-256");
	snprintf(san, sizeof(san), "DNS:%s%s%s", cn, ip ? ",IP:" : "", ip ? ip : "");
	ok = x && c->key && X509_set_version(x, 2) &&
	     ASN1_INTEGER_set(X509_get_serialNumber(x), __atomic_add_fetch(&serial, 1, 0)) &&
	     X509_gmtime_adj(X509_getm_notBefore(x), from_s) &&
	     X509_gmtime_adj(X509_getm_notAfter(x), to_s) && X509_set_pubkey(x, c->key) &&
	     X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
					(const unsigned char *)cn, -1, -1, 0) &&
	     X509_set_issuer_name(x, X509_get_subject_name(issuer)) &&
	     tls_cert_ext(x, issuer, NID_basic_constraints,
			  is_ca ? "critical,CA:TRUE" : "CA:FALSE") &&
	     (!is_ca || tls_cert_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign")) &&
	     (is_ca || tls_cert_ext(x, issuer, NID_subject_alt_name, san)) &&
	     tls_cert_ext(x, issuer, NID_subject_key_identifier, "hash") &&
	     X509_sign(x, ca ? ca->key : c->key, EVP_sha256());
	c->x509 = x;
	c->cert_pem = ok ? tls_cert_pem(x, NULL) : NULL;
	c->key_pem = ok ? tls_cert_pem(NULL, c->key) : NULL;
	return c->cert_pem && c->key_pem;
}

static inline void tls_cert_free(struct tls_cert *c)
{
	free(c->cert_pem);
	free(c->key_pem);
	X509_free(c->x509);
	EVP_PKEY_free(c->key);
	memset(c, 0, sizeof(*c));
}

#endif
