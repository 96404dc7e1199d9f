package rtc

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// Transport-wide feedback names a media stream of the peer, never its RTX
// stream (whose RTCP a pion sender does not read); other RTCP passes as it is.
func TestTWCCNamesAMediaStream(t *testing.T) {
	const video, rtx, audio, other = 11, 12, 13, 99
	tests := []struct {
		name    string
		streams []interceptor.StreamInfo
		in      uint32
		want    uint32
	}{
		{"RTX to video", []interceptor.StreamInfo{{SSRC: audio, MimeType: webrtc.MimeTypeOpus},
			{SSRC: video, MimeType: webrtc.MimeTypeVP8}, {SSRC: rtx, MimeType: webrtc.MimeTypeRTX}}, rtx, video},
		{"RTX to audio without video", []interceptor.StreamInfo{{SSRC: audio, MimeType: webrtc.MimeTypeOpus},
			{SSRC: rtx, MimeType: "VIDEO/RTX"}}, rtx, audio},
		{"media stays", []interceptor.StreamInfo{{SSRC: audio, MimeType: webrtc.MimeTypeOpus},
			{SSRC: video, MimeType: webrtc.MimeTypeVP8}, {SSRC: rtx, MimeType: webrtc.MimeTypeRTX}}, audio, audio},
		{"unknown stays", []interceptor.StreamInfo{{SSRC: rtx, MimeType: webrtc.MimeTypeRTX}}, other, other},
		{"RTX alone stays", []interceptor.StreamInfo{{SSRC: rtx, MimeType: webrtc.MimeTypeRTX}}, rtx, rtx},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i, _ := twccSSRCFactory{}.NewInterceptor("")
			for _, s := range tt.streams {
				i.BindRemoteStream(&s, nil)
			}
			var got []rtcp.Packet
			w := i.BindRTCPWriter(interceptor.RTCPWriterFunc(func(p []rtcp.Packet, _ interceptor.Attributes) (int, error) {
				got = p
				return 0, nil
			}))
			pli := &rtcp.PictureLossIndication{MediaSSRC: tt.in}
			if _, err := w.Write([]rtcp.Packet{&rtcp.TransportLayerCC{MediaSSRC: tt.in}, pli}, nil); err != nil {
				t.Fatal(err)
			}
			if m := got[0].(*rtcp.TransportLayerCC).MediaSSRC; m != tt.want {
				t.Errorf("feedback names %d, want %d", m, tt.want)
			}
			if got[1].(*rtcp.PictureLossIndication).MediaSSRC != tt.in {
				t.Errorf("a PLI was rewritten")
			}
		})
	}
	// A media stream that ends is no longer named.
	i, _ := twccSSRCFactory{}.NewInterceptor("")
	v := interceptor.StreamInfo{SSRC: video, MimeType: webrtc.MimeTypeVP8}
	i.BindRemoteStream(&interceptor.StreamInfo{SSRC: rtx, MimeType: webrtc.MimeTypeRTX}, nil)
	i.BindRemoteStream(&v, nil)
	i.UnbindRemoteStream(&v)
	if m := i.(*twccSSRC).mediaFor(rtx); m != rtx {
		t.Errorf("after the video ended: %d", m)
	}
}
