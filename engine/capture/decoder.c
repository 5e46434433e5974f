#include <string.h>
#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include "decoder.h"

struct hs_dec {
	AVCodecContext *ctx;
	AVFrame *frame; // the last picture
	AVFrame *tmp;   // receive_frame unrefs its target even when it returns EAGAIN
	AVPacket *pkt;
	struct SwsContext *sws;
	uint8_t *buf; // packet copy with the zero padding libavcodec requires
	int cap;
	int have;     // a picture is in frame
};

hs_dec *hs_dec_open(int codec) {
	const AVCodec *c = avcodec_find_decoder(codec == HS_CODEC_H264 ? AV_CODEC_ID_H264 : AV_CODEC_ID_VP8);
	if (!c) return NULL;
	hs_dec *d = av_mallocz(sizeof(hs_dec));
	if (!d) return NULL;
	d->ctx = avcodec_alloc_context3(c);
	d->frame = av_frame_alloc();
	d->tmp = av_frame_alloc();
	d->pkt = av_packet_alloc();
	if (!d->ctx || !d->frame || !d->tmp || !d->pkt) { hs_dec_close(d); return NULL; }
	// One thread and low delay: each frame comes out as soon as it goes in.
	d->ctx->thread_count = 1;
	d->ctx->flags |= AV_CODEC_FLAG_LOW_DELAY;
	if (avcodec_open2(d->ctx, c, NULL) < 0) { hs_dec_close(d); return NULL; }
	return d;
}

int hs_dec_decode(hs_dec *d, const uint8_t *data, int len, int *w, int *h) {
	if (len <= 0) return AVERROR(EINVAL);
	if (len + AV_INPUT_BUFFER_PADDING_SIZE > d->cap) {
		int cap = len + AV_INPUT_BUFFER_PADDING_SIZE;
		uint8_t *b = av_realloc(d->buf, cap);
		if (!b) return AVERROR(ENOMEM);
		d->buf = b;
		d->cap = cap;
	}
	memcpy(d->buf, data, len);
	memset(d->buf + len, 0, AV_INPUT_BUFFER_PADDING_SIZE);
	d->pkt->data = d->buf;
	d->pkt->size = len;
	int ret = avcodec_send_packet(d->ctx, d->pkt);
	d->pkt->data = NULL;
	d->pkt->size = 0;
	if (ret < 0 && ret != AVERROR(EAGAIN)) return ret;
	int got = 0;
	for (;;) {
		ret = avcodec_receive_frame(d->ctx, d->tmp);
		if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) break;
		if (ret < 0) return ret;
		av_frame_unref(d->frame);
		av_frame_move_ref(d->frame, d->tmp);
		got = 1;
	}
	if (!got) return 0;
	if (d->frame->decode_error_flags || (d->frame->flags & AV_FRAME_FLAG_CORRUPT)) return AVERROR_INVALIDDATA;
	d->have = 1;
	*w = d->frame->width;
	*h = d->frame->height;
	return 1;
}

int hs_dec_bgr(hs_dec *d, uint8_t *out, int w, int h) {
	if (!d->have || d->frame->width != w || d->frame->height != h) return AVERROR(EINVAL);
	d->sws = sws_getCachedContext(d->sws, w, h, d->frame->format, w, h, AV_PIX_FMT_BGR24,
		SWS_BILINEAR, NULL, NULL, NULL);
	if (!d->sws) return AVERROR(ENOMEM);
	uint8_t *dst[4] = {out, NULL, NULL, NULL};
	int stride[4] = {w * 3, 0, 0, 0};
	int rows = sws_scale(d->sws, (const uint8_t *const *)d->frame->data, d->frame->linesize, 0, h, dst, stride);
	return rows == h ? 0 : AVERROR_EXTERNAL;
}

void hs_dec_close(hs_dec *d) {
	if (!d) return;
	sws_freeContext(d->sws);
	av_frame_free(&d->frame);
	av_frame_free(&d->tmp);
	av_packet_free(&d->pkt);
	avcodec_free_context(&d->ctx);
	av_free(d->buf);
	av_free(d);
}
