// Minimal libavcodec wrapper: one compressed frame in, one BGR picture out.
#ifndef HESHEN_CAPTURE_DECODER_H
#define HESHEN_CAPTURE_DECODER_H
#include <stdint.h>

enum { HS_CODEC_VP8 = 0, HS_CODEC_H264 = 1 };

typedef struct hs_dec hs_dec;

hs_dec *hs_dec_open(int codec);
// Returns 1 when a picture is ready (its size in *w, *h), 0 when the decoder
// needs more data, a negative AVERROR on a bad frame.
int hs_dec_decode(hs_dec *d, const uint8_t *data, int len, int *w, int *h);
// Converts the last picture to packed BGR (stride w*3). Returns 0 or an AVERROR.
int hs_dec_bgr(hs_dec *d, uint8_t *out, int w, int h);
void hs_dec_close(hs_dec *d);
#endif
