/*
 * bundle_kit: what the bundle tests (test_bundle, test_bundle_fs) share.
 * Streams are written here by hand, after the record layout of
 * sync/bundle.h, and compressed with zlib alone, so that the decoder is
 * never checked against its own encoder; the decoder is driven in pieces
 * of every size; the encoder's output is inflated and checked record by
 * record.  Failures end the running test through cmocka.
 */
#ifndef TESTS_BUNDLE_KIT_H
#define TESTS_BUNDLE_KIT_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "sync/bundle.h"

#include "fixture.h"

#define BK_NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* One file of a round: its path, bytes and mode. */
struct bk_spec {
	const char	*path;
	uint8_t		*data;
	size_t		 len;
	mode_t		 mode;
};

/* A raw (uncompressed) stream being written. */
struct bk_raw {
	uint8_t	*p;
	size_t	 n;
};

/* The reference round: sizes around the 64 KiB chunk, empty, nested. */
struct bk_round {
	struct bk_spec	 s[8];
	size_t		 n;
	char		*paths[8];
	mode_t		 modes[8];
};

/* A small valid bundle of three files. */
#define BK_NTHREE	3
extern const struct bk_spec bk_three[BK_NTHREE];

void	 bk_check_contained(struct fx_homes *);
uint32_t bk_rnd(uint32_t *);

struct bundle_file *bk_expect(const struct bk_spec *, size_t);
void	 bk_free_files(struct bundle_file *, size_t);
struct bundle_file *bk_find(struct bundle_file *, size_t, const char *);
void	 bk_check_temp(const char *, const struct bundle_file *,
	    const void *, size_t);

void	 bk_raw_put(struct bk_raw *, const void *, size_t);
void	 bk_raw_be(struct bk_raw *, uint64_t, int);
void	 bk_raw_hdr(struct bk_raw *, const void *, size_t, uint32_t,
	    uint64_t);
void	 bk_raw_rec(struct bk_raw *, const char *, const void *, size_t);
void	 bk_raw_end(struct bk_raw *);
void	 bk_raw_three(struct bk_raw *);
uint8_t	*bk_zip(const uint8_t *, size_t, size_t *);

struct bundle_dec *bk_decode(const char *, struct bundle_file *, size_t,
	    const uint8_t *, size_t, size_t, int *, char *, size_t);
void	 bk_dec_done(struct bundle_dec *, const char *);
void	 bk_refused(struct fx_homes *, struct bundle_file *, size_t,
	    const uint8_t *, size_t, const char *);

uint8_t	*bk_encode(const char *, char *const *, const mode_t *, size_t,
	    size_t, size_t *, size_t *, uint64_t *);
void	 bk_check_stream(const uint8_t *, size_t, const struct bk_spec *,
	    size_t, uint64_t);

void	 bk_round_init(struct bk_round *, const char *);
void	 bk_round_free(struct bk_round *);

#endif
