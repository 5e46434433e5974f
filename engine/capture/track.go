package capture

import (
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"heshen/engine"
)

// onTrack reads, assembles and decodes the first video track; it runs on
// pion's goroutine and returns when the PeerConnection closes.
func (s *Session) onTrack(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	s.mu.Lock()
	if track.Kind() != webrtc.RTPCodecTypeVideo || s.video || s.ended {
		s.mu.Unlock()
		return
	}
	s.video = true
	s.readers.Add(1)
	s.mu.Unlock()
	defer s.readers.Done()
	// One OS thread for the whole stream, so its CPU time can be measured.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	mime := track.Codec().MimeType
	codec := codecVP8
	if strings.EqualFold(mime, webrtc.MimeTypeH264) {
		codec = codecH264
	}
	s.mu.Lock()
	s.stats.Codec = mime
	s.mu.Unlock()
	dec, err := newDecoder(codec, &s.srv.decoders)
	if err != nil {
		s.fail(captureErr(engine.CodeInternal, "", "内部错误", "%v", err))
		return
	}
	defer dec.close()

	ssrc := uint32(track.SSRC())
	var lastPLI time.Time
	pli := func() {
		// Browsers honour about three a second; more only costs quality.
		if time.Since(lastPLI) < 300*time.Millisecond {
			return
		}
		lastPLI = time.Now()
		if s.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}) == nil {
			s.mu.Lock()
			s.stats.PLIs++
			s.mu.Unlock()
		}
	}
	pli()

	asm := assembler{codec: codec}
	needKey := true
	var badFrames int
	for {
		p, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		now := time.Now()
		frames, lost := asm.push(p, now)
		s.mu.Lock()
		s.stats.Packets++
		s.stats.Bytes += int64(len(p.Payload))
		s.stats.Lost += int64(lost)
		s.mu.Unlock()
		if lost > 0 {
			needKey = true
			pli()
		}
		for _, data := range frames {
			if needKey && !isKeyFrame(codec, data) {
				s.mu.Lock()
				s.stats.Lost++
				s.mu.Unlock()
				pli()
				continue
			}
			t0, c0 := time.Now(), threadCPU()
			w, h, err := dec.decode(data)
			var buf []byte
			if err == nil && w > 0 {
				buf = s.buffer(w * h * 3)
				err = dec.bgr(buf, w, h)
			}
			took, cpu := time.Since(t0), threadCPU()-c0
			s.mu.Lock()
			s.stats.DecodeTime += took
			s.stats.DecodeCPU += cpu
			if err != nil {
				s.stats.Lost++
			} else if w > 0 {
				s.stats.Decoded++
				s.stats.Width, s.stats.Height = w, h
			}
			s.mu.Unlock()
			if err != nil {
				needKey = true
				pli()
				// A stream that never decodes is not a camera.
				if badFrames++; badFrames > 100 {
					s.fail(captureErr(engine.CodeInvalidParameterValue, ReasonBadMedia, "视频无法解码",
						"the browser's video cannot be decoded: %v", err))
					return
				}
				continue
			}
			needKey = false
			if w > 0 {
				badFrames = 0
				s.publish(&engine.Frame{Width: w, Height: h, BGR: buf, At: now})
			}
		}
	}
}

// assembler turns RTP packets into whole compressed frames. It emits a frame
// as soon as its marker packet arrives and every packet since the previous
// frame's marker is present, so no frame waits for the next one. Packets
// may arrive out of order (NACK retransmissions); a gap that persists for
// maxWait or maxPending packets is loss: the incomplete frames are dropped
// and the caller asks for a key frame.
type assembler struct {
	codec   int
	started bool
	next    uint16 // first sequence number of the next frame
	pending map[uint16]*rtp.Packet
	gapAt   time.Time
}

const (
	maxPending = 512
	maxWait    = 150 * time.Millisecond
)

// push adds a packet and returns completed frames and how many frames were lost.
func (a *assembler) push(p *rtp.Packet, now time.Time) (frames [][]byte, lost int) {
	if a.pending == nil {
		a.pending = map[uint16]*rtp.Packet{}
	}
	seq := p.SequenceNumber
	if !a.started {
		switch {
		case isFrameStart(a.codec, p.Payload):
			a.started, a.next = true, seq
		case p.Marker:
			a.started, a.next = true, seq+1
			return nil, 0
		default:
			return nil, 0
		}
	}
	if d := seq - a.next; d >= 0x8000 {
		return nil, 0 // older than what was emitted: a late duplicate
	}
	a.pending[seq] = p
	for {
		f, ok, dropped := a.take()
		if dropped {
			lost++
			a.gapAt = time.Time{}
			continue
		}
		if ok {
			frames = append(frames, f)
			a.gapAt = time.Time{}
			continue
		}
		if len(a.pending) == 0 {
			break
		}
		if a.gapAt.IsZero() {
			a.gapAt = now
		}
		if len(a.pending) < maxPending && now.Sub(a.gapAt) < maxWait {
			break
		}
		// Give up on the gap: resume after the first marker we hold.
		if !a.skip() {
			clear(a.pending)
			a.started = false
			lost++
			break
		}
		lost++
		a.gapAt = time.Time{}
	}
	return frames, lost
}

// take emits the frame at a.next if all of it is present. If the run of
// packets reaches another frame's timestamp first, the frame's marker
// packet was lost: the partial frame is dropped.
func (a *assembler) take() (frame []byte, ok, dropped bool) {
	first, have := a.pending[a.next]
	if !have {
		return nil, false, false
	}
	for i := a.next; ; i++ {
		p, have := a.pending[i]
		if !have {
			return nil, false, false
		}
		if p.Timestamp != first.Timestamp {
			for j := a.next; j != i; j++ {
				delete(a.pending, j)
			}
			a.next = i
			return nil, false, true
		}
		if p.Marker {
			data := a.depacketize(a.next, i)
			for j := a.next; j != i+1; j++ {
				delete(a.pending, j)
			}
			a.next = i + 1
			return data, true, false
		}
		if i-a.next > maxPending {
			return nil, false, false
		}
	}
}

// skip drops everything up to the earliest pending marker packet.
func (a *assembler) skip() bool {
	best, found := uint16(0), false
	for seq, p := range a.pending {
		if p.Marker && (!found || seq-a.next < best-a.next) {
			best, found = seq, true
		}
	}
	if !found {
		return false
	}
	for seq := range a.pending {
		if seq-a.next <= best-a.next {
			delete(a.pending, seq)
		}
	}
	a.next = best + 1
	return true
}

func (a *assembler) depacketize(from, to uint16) []byte {
	var out []byte
	// A fresh depacketizer per frame: H.264 fragments never span frames.
	var vp8 codecs.VP8Packet
	var h264 codecs.H264Packet
	for i := from; i != to+1; i++ {
		var b []byte
		var err error
		if a.codec == codecH264 {
			b, err = h264.Unmarshal(a.pending[i].Payload)
		} else {
			b, err = vp8.Unmarshal(a.pending[i].Payload)
		}
		if err == nil {
			out = append(out, b...)
		}
	}
	return out
}

// isFrameStart guesses whether a payload begins a frame; used only before
// the first marker has been seen, to keep the stream's first key frame.
func isFrameStart(codec int, payload []byte) bool {
	if len(payload) == 0 {
		return false
	}
	if codec == codecVP8 {
		var vp8 codecs.VP8Packet
		if _, err := vp8.Unmarshal(payload); err != nil {
			return false
		}
		return vp8.S == 1 && vp8.PID == 0
	}
	switch t := payload[0] & 0x1f; t {
	case 24, 7, 9: // STAP-A (SPS+PPS), SPS, access unit delimiter
		return true
	case 28: // FU-A: the start of an IDR slice
		return len(payload) > 1 && payload[1]&0x80 != 0 && payload[1]&0x1f == 5
	default:
		return t == 5
	}
}

// isKeyFrame reports whether a compressed frame can be decoded on its own.
func isKeyFrame(codec int, data []byte) bool {
	if len(data) == 0 {
		return false
	}
	if codec == codecVP8 {
		return data[0]&1 == 0 // VP8 frame tag: P bit clear = key frame
	}
	// Annex-B: look for an IDR slice or an SPS.
	for i := 0; i+3 < len(data); i++ {
		if data[i] == 0 && data[i+1] == 0 && data[i+2] == 1 {
			if t := data[i+3] & 0x1f; t == 5 || t == 7 {
				return true
			}
		}
	}
	return false
}

// threadCPU is the calling OS thread's CPU time (Linux RUSAGE_THREAD).
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(1, &ru) != nil { // 1 = RUSAGE_THREAD
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
